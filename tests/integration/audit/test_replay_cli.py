"""`tally replay` as the command runs it: its shard processes started first (while it
imports), then given their jobs."""

from __future__ import annotations

import argparse

import pytest
from audit_kit import AuditLog

from services.cli.replay import main

pytestmark = pytest.mark.integration


def test_the_command_rebuilds_in_shards_started_first(
    audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TALLY_DATABASE_URL", audit_log.url)
    args = argparse.Namespace(swap=False, batch=3, jobs=2, wait=0.0, max_lines=5)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"up to position {audit_log.positions[-1]}" in out
    assert "no difference" in out
