"""`tally COMMAND` imports the module of that sub-command only; `tally` alone (or an
unknown command) still knows them all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.cli.main import COMMANDS, build_parser, main


def test_a_named_command_imports_its_module_only() -> None:
    probe = (
        "import sys\n"
        "from services.cli.main import build_parser\n"
        "args = build_parser('replay').parse_args(['replay', '--jobs', '3'])\n"
        "assert args.jobs == 3, args\n"
        "print(sorted(m for m in sys.modules if m.startswith('services.cli.')))\n"
        "print('sqlalchemy' in sys.modules, 'alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['services.cli.main', 'services.cli.replay']", "False False"]


def test_every_command_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(build_parser()._subparsers._group_actions[0].choices) == set(COMMANDS)  # type: ignore[union-attr]
    with pytest.raises(SystemExit):
        main(["nothing-of-that-name"])
    assert "invalid choice" in capsys.readouterr().err
