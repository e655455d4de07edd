"""`python -m chaos --minutes 2`: two minutes of faults under load (processes killed,
the broker restarted empty, PostgreSQL paused, bulk recalculations), then every
check passes: nothing acknowledged lost or doubled, both topics complete, replay
equal to the live projection, no server error but 503.

The run starts its own PostgreSQL and broker (it pauses its database with SIGSTOP,
so it never uses a shared server), and writes its report to a temp file, never over
the committed RELIABILITY.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.timeout(420)
def test_two_minutes_of_faults_lose_nothing_and_every_check_passes(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    committed = ROOT / "RELIABILITY.md"
    before = committed.read_bytes() if committed.exists() else None
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "--minutes", "2", "--seed", "7", "--out", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    out = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, out[-6000:]
    verdicts = [line for line in done.stdout.splitlines() if line[:4] in ("PASS", "FAIL")]
    assert len(verdicts) >= 9 and all(v.startswith("PASS") for v in verdicts), out[-6000:]
    faults = [line for line in done.stdout.splitlines() if line.startswith("  ") and "s " in line]
    assert len(faults) >= 3, out[-6000:]  # faults did happen
    written = report.read_text()
    assert "every check passed" in written
    assert "| lost | 0 |" in written and "| duplicated | 0 |" in written
    assert "## What Tally promises" in written and "## What it does not" in written
    after = committed.read_bytes() if committed.exists() else None
    assert after == before  # the committed report is left alone
