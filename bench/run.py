"""The state of one bench run, shared by its phases: the rows of the table, notes,
Tally's processes and the environment they run with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Outcome
from bench.report import Row
from bench.servers import Database, TallyProcess
from bench.sizes import Size
from bench.stats import percentile
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker

AS_OF = "as_of finances, big project"

# Issue 9's targets for the pricing rows, each a ratio to a limit measured in the same
# run (with an absolute floor or ceiling); issue 5's for the others.
TARGETS = {
    "batched ingest": "≥ 20,000 events/s and ≥ 0.4 of the limit",
    "single-event ingest": "≥ 0.35 of the limit; p99 ≤ 25 ms",
    "recalculate one project": "≤ 1.5× the limit and ≤ 0.5 s",
    "bulk recalculation": "≥ 0.6 of the limit and ≥ 200,000 entries/s",
    "tally replay": "≥ 0.5 of the limit and ≥ 50,000 events/s",
    AS_OF: "≤ 2× the recalculation of it",
    "freshness": "p99 ≤ 100 ms",
    "memory: worker in bulk": "≤ 400 MiB, flat as projects grow",
}


def ms(latencies: list[float]) -> tuple[float, float]:
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000


@dataclass
class Run:
    size: Size
    db: Database
    broker: EmbeddedBroker
    log_dir: Path
    rows: dict[str, Row] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    procs: dict[str, TallyProcess] = field(default_factory=dict)
    replay_rss: int = 0
    env: dict[str, str] = field(default_factory=dict)
    # seconds of "recalculate one project" in this run: the limit beside as_of's row
    recalc_one: float | None = None

    def __post_init__(self) -> None:
        self.rows = {name: Row(name, target=t) for name, t in TARGETS.items()}
        self.rows["memory: worker in bulk"].limit = "—"

    @property
    def dsn(self) -> str:
        return plain_dsn(self.db.url)

    def say(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)

    def na(self, names: list[str], reason: str) -> None:
        for name in names:
            if self.rows[name].tally == "n/a":
                self.rows[name].na(reason)


def failures(outcome: Outcome) -> str:
    failed = outcome.failed_requests
    if not failed:
        return ""
    return f" [{failed} requests failed: {outcome.first_error[:80]}]"
