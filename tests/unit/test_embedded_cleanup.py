"""The embedded PostgreSQL leaves nothing behind: its runtime directory (private,
mode 0700) goes on stop, and a temporary server's data folder with it. Checked
without a server: the library's server class is replaced by a stand-in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shared.infra import embedded
from shared.infra.embedded import SCRATCH_SETTINGS, EmbeddedPostgres, _configure


class Seen:
    runtime_dirs: list[Path]
    stopped: int

    def __init__(self) -> None:
        self.runtime_dirs = []
        self.stopped = 0


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    seen = Seen()

    def server_class(runtime_dir: Path, settings: dict[str, str]) -> Any:
        seen.runtime_dirs.append(runtime_dir)

        class Server:
            def __init__(self, pgdata: Path, cleanup_mode: str) -> None:
                (pgdata / "PG_VERSION").write_text("18\n")

            def get_postmaster_info(self) -> Any:
                return SimpleNamespace(socket_dir=runtime_dir)

            def _cleanup(self) -> None:
                seen.stopped += 1

        return Server

    async def no_database(self: EmbeddedPostgres) -> None:
        return None

    monkeypatch.setattr(embedded, "_server_class", server_class)
    monkeypatch.setattr(EmbeddedPostgres, "_ensure_database", no_database)
    return seen


def test_a_temporary_server_removes_its_folders_on_stop(tmp_path: Path, seen: Seen) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", temporary=True)
    pg.start()
    [runtime_dir] = seen.runtime_dirs
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    assert (tmp_path / "pg" / "PG_VERSION").exists()

    pg.stop()
    pg.stop()  # twice is harmless (the exit hook may call it again)

    assert seen.stopped == 1
    assert not runtime_dir.exists() and not (tmp_path / "pg").exists()


def test_a_kept_server_keeps_its_data_but_not_its_runtime_dir(tmp_path: Path, seen: Seen) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    pg.stop()

    assert (tmp_path / "pg" / "PG_VERSION").exists()
    assert not seen.runtime_dirs[0].exists()


def test_a_failed_start_leaves_nothing_behind(
    tmp_path: Path, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(self: EmbeddedPostgres) -> None:
        raise OSError("no server")

    monkeypatch.setattr(EmbeddedPostgres, "_ensure_database", refused)
    pg = EmbeddedPostgres(tmp_path / "pg", temporary=True)
    with pytest.raises(OSError):
        pg.start()

    assert seen.stopped == 1
    assert not seen.runtime_dirs[0].exists() and not (tmp_path / "pg").exists()


def test_settings_are_included_once_and_rewritten_at_every_start(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("shared_buffers = 128MB\n")
    _configure(tmp_path, SCRATCH_SETTINGS)
    _configure(tmp_path, {"fsync": "off"})

    conf = (tmp_path / "postgresql.conf").read_text()
    assert conf.count("include_if_exists = 'tally.conf'") == 1
    assert (tmp_path / "tally.conf").read_text() == "fsync = 'off'\n"


def test_the_library_is_imported_without_a_runtime_dir_warning() -> None:
    """XDG_RUNTIME_DIR=/tmp (mode 1777) made platformdirs warn at the import."""
    code = (
        "import os, sys; from shared.infra.embedded import _postgres_server_base;"
        " _postgres_server_base(); sys.exit(os.environ.get('XDG_RUNTIME_DIR') != '/tmp')"
    )
    env = {**os.environ, "XDG_RUNTIME_DIR": "/tmp"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
