"""`python -m bench --smoke`: the harness runs end to end at a tiny size and its table
names every scenario of issue 5. No timing is asserted: figures depend on the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Issue 5's scenarios, written out here rather than imported from the harness, so that
# the test notices a scenario the harness forgot.
SCENARIOS = (
    "batched ingest",
    "single-event ingest",
    "recalculate one project",
    "bulk recalculation",
    "tally replay",
    "freshness",
    "memory: worker in bulk",
)


@pytest.mark.e2e
def test_the_harness_prints_and_writes_a_row_for_every_scenario(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    env = dict(os.environ)
    if os.environ.get("TALLY_TEST_DATABASE_URL"):
        env["TALLY_BENCH_DATABASE_URL"] = os.environ["TALLY_TEST_DATABASE_URL"]
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    written = output.read_text()
    for scenario in SCENARIOS:
        # One row each, with a figure or an `n/a (reason)` in the Tally column.
        rows = [line for line in table if line.startswith(f"| {scenario} |")]
        assert len(rows) == 1, (scenario, done.stdout[-3000:])
        assert rows[0].split(" | ")[1].strip(), rows[0]
        assert f"| {scenario} |" in written
    assert "## Machine" in written and "PostgreSQL" in written
