"""`tally` and its settings: the token secret `tally dev` keeps is found by
`tally token create`, and a missing or refused setting is one line and exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.cli.main import main
from shared.infra.auth import SCOPES, verify_token

SECRET = "k" * 8 + "a-dev-secret-of-enough-characters-0123"


@pytest.fixture
def no_tally_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TALLY_* variable; the working directory is an empty tmp folder."""
    for name in list(os.environ):
        if name.startswith("TALLY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_token_create_uses_the_secret_tally_dev_keeps(
    no_tally_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = no_tally_env / "data"
    data.mkdir()
    (data / "token_secret").write_text(SECRET + "\n")
    monkeypatch.setenv("TALLY_DATA_DIR", str(data))

    assert main(["token", "create", "--scope", "finance:read"]) == 0

    out, err = capsys.readouterr()
    principal = verify_token(SECRET, out.strip())
    assert principal.scopes == {"finance:read"}
    assert err.startswith(f"jti={principal.token_id} expires=") and err.count("\n") == 1


def test_the_default_data_dir_is_read_from_the_working_directory(
    no_tally_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (no_tally_env / ".tally").mkdir()
    (no_tally_env / ".tally" / "token_secret").write_text(SECRET + "\n")

    assert main(["token", "create", "--scope", "all"]) == 0

    assert verify_token(SECRET, capsys.readouterr().out.strip()).scopes == set(SCOPES)


def test_a_missing_secret_is_one_line_and_exit_2(
    no_tally_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--scope", SCOPES[0]]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "TALLY_TOKEN_SECRET is not set" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["migrate"], ["status"], ["token", "revoke", "some-jti"]])
def test_a_missing_database_url_is_one_line_and_exit_2(
    no_tally_env: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(command) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TALLY_DATABASE_URL is not set" in err


def test_a_refused_setting_is_one_line_and_exit_2_without_its_value(
    no_tally_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TALLY_TOKEN_SECRET", "hunter2")

    assert main(["token", "create", "--scope", "all"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TALLY_TOKEN_SECRET" in err
    assert "hunter2" not in err
