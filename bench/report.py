"""The one table (scenario | Tally | limit | ratio | target | met?), the peak RSS of
each Tally process, the machine's description, and BENCHMARKS.md."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

SCENARIOS = (
    "batched ingest",
    "single-event ingest",
    "recalculate one project",
    "bulk recalculation",
    "tally replay",
    "as_of finances, big project",
    "freshness",
    "memory: worker in bulk",
)


@dataclass(slots=True)
class Row:
    scenario: str
    tally: str = "n/a"
    limit: str = "n/a"
    ratio: str = "—"
    target: str = ""
    met: str = "—"

    def na(self, reason: str) -> Row:
        self.tally = f"n/a ({reason})"
        self.met = "—"
        return self


def verdict(*checks: bool) -> str:
    return "yes" if all(checks) else "no"


def rate(value: float, unit: str = "events/s") -> str:
    return f"{value:,.0f} {unit}"


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def render(rows: list[Row]) -> str:
    header = ("scenario", "Tally", "limit measured beside it", "ratio", "target", "met?")
    cells = [header] + [(r.scenario, r.tally, r.limit, r.ratio, r.target, r.met) for r in rows]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells[1:]]
    return "\n".join(out)


def render_rss(peaks: dict[str, int]) -> str:
    if not peaks:
        return "(no Tally process ran)"
    lines = ["| process | peak RSS |", "|---|---|"]
    lines += [f"| `tally {name}` | {mib(value)} |" for name, value in peaks.items()]
    return "\n".join(lines)


def machine(pg_version: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- CPU: {cpu}, {psutil.cpu_count(logical=True)} logical cores",
        f"- RAM: {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python {sys.version.split()[0]}, PostgreSQL {pg_version}",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        # Other work on the machine skews every figure; say how busy it was.
        "- load average (1, 5, 15 min) at the end of the run: "
        + ", ".join(f"{x:.2f}" for x in psutil.getloadavg()),
    ]


def write_markdown(
    path: Path,
    command: str,
    size: str,
    rows: list[Row],
    peaks: dict[str, int],
    pg_version: str,
    notes: list[str],
) -> None:
    text = [
        "# Tally benchmarks",
        "",
        "Written by the bench harness (`bench/`); do not edit by hand. Re-run with"
        " `make bench` (full) or `make bench-quick`.",
        "",
        f"Command: `{command}` (size: {size})",
        "",
        "## Machine",
        "",
        *machine(pg_version),
        "",
        "## Results",
        "",
        render(rows),
        "",
        "## Peak memory of each Tally process (RSS, process and children)",
        "",
        render_rss(peaks),
        "",
        "## How each figure is measured",
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    path.write_text("\n".join(text))
