"""`python -m bench [--quick | --smoke] [--output PATH]`: Tally's speed beside the
machine's own limits (issue 5). Prints one table and writes it to BENCHMARKS.md.

For profiling: BENCH_LOG_LEVEL=INFO sets Tally's log level (the process logs are kept in
the directory the run names), BENCH_SLOW_SECONDS=0 makes the worker log every
transaction's phases, and BENCH_KEEP_DATABASE=1 keeps the run's database (its URL is
printed; drop it yourself)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bench.report import render, render_rss, write_markdown
from bench.runner import ONLY_NAMES, parse_only, run_all
from bench.sizes import FULL, MID, QUICK, SMOKE
from shared.infra.runtime import tune_gc

NOTES = [
    "Tally runs as separate processes (`tally ledger`, `tally relay`, `tally recalc`), started"
    " by the harness against a fresh, migrated database and a broker of the run's own; the"
    " load generator (httpx, HTTP/1.1 keep-alive, orjson bodies) is the harness process.",
    "The recalc worker is started after the two ingest scenarios, so that their figures"
    " measure the ledger (and the relay) alone, as on separate machines; it then catches up"
    " with the whole log before the other scenarios.",
    "Batched ingest: 100 events a request, 4 requests in flight; ~80 % HoursLogged, the rest"
    " HoursEdited, ExpenseRecorded, TaskUpdated (planned hours), BillingRecordCreated and"
    " BillingRecordItemsAdded. Limit: asyncpg `executemany` of the same rows (a prefix of"
    " them in a full run) into a table with the log's columns and no index or constraint.",
    "Single-event ingest: HoursLogged on side projects (outside the bulk set), 16 clients"
    " each waiting for its answer. Limit: one INSERT per transaction from 16 connections.",
    "Recalculations: a role's billing rate changes, then `POST /v1/projects/{id}/recalculate`"
    " (or `/v1/recalculations` with every bulk project); the time runs until the"
    " `FinancesRecalculated` of each project is on `tally.finance.v1`. Limit: one SQL"
    " statement over a bare copy of the same hour entries (`bench.limits.PRICING_SQL`):"
    " user rate else primary-role rate, cost and billing, each by a `daterange @> entry_date`"
    " join, rounded and written to a table; the better of two runs.",
    "Replay: wall time of `tally replay` (process start-up included). Limit:"
    " `shared.infra.eventlog.read_after` in batches of 10,000 with decoding, no projection.",
    "as_of: `GET /v1/projects/{id}/finances?as_of=N` of the big project (the first bulk"
    " project), N the position of the middle event of its stream in the log (found by SQL"
    " after the recalculation of that project), so about half its hour entries are in force"
    " at N; wall time until the whole answer has arrived, the best of three (two if one"
    " took over 30 s). `/hours?as_of=N` (one answer, not paginated) is timed the same way"
    " and its entries counted against the HoursLogged of the stream up to N. Limit: the"
    " same run's `recalculate one project` time for that project (so `--only as_of` runs"
    " that scenario too).",
    "Freshness: single HoursLogged at a steady rate; latency = the `ProjectFinancesChanged`"
    " whose cause is that event's position arriving on `tally.finance.v1`, minus the moment"
    " the POST was sent. Limit: sequential bare produce -> consume round trips.",
    "Memory: RSS of `tally recalc` (with any children), sampled every 50 ms; the peak during"
    " the bulk recalculation beside the RSS at its start.",
]


def _run(coro: Any) -> Any:
    """uvloop when installed (uvicorn[standard] brings it): the load generator's own
    overhead per request is then about half of asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="a smaller run, under two minutes")
    group.add_argument("--smoke", action="store_true", help="a tiny run that checks the harness")
    group.add_argument(
        "--mid",
        action="store_true",
        help="the full run's big project and 199 bulk projects: for work on recalculation",
    )
    parser.add_argument(
        "--only",
        default=None,
        metavar="NAME[,NAME]",
        help="run only these scenarios (" + ", ".join(ONLY_NAMES) + "); the data they need"
        " is still ingested (as_of also runs one, its limit); BENCHMARKS.md is then written"
        " only with --output",
    )
    parser.add_argument("--output", type=Path, default=None, help="default: BENCHMARKS.md")
    args = parser.parse_args(argv)
    size = SMOKE if args.smoke else QUICK if args.quick else MID if args.mid else FULL
    try:
        only = parse_only(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    partial = only is not None or args.smoke or args.mid
    output = args.output or (None if partial else Path("BENCHMARKS.md"))

    # The limits are measured in this process: give it the runtime Tally's own
    # processes get, so that a ratio compares like with like.
    tune_gc()
    run, pg_version = _run(run_all(size, only))
    rows = list(run.rows.values())
    peaks = {name: p.peak_rss for name, p in run.procs.items()}
    if run.replay_rss:
        peaks["replay"] = run.replay_rss
    notes = NOTES + run.notes
    if only is not None:
        notes.append(f"Only these scenarios ran (`--only`): {', '.join(sorted(only))}.")
    if size is not FULL:
        notes.append(f"A `{size.name}` run: every figure is for the scaled-down sizes.")
    print()
    print(render(rows))
    print()
    print(render_rss(peaks))
    for note in run.notes:
        print(f"- {note}")
    print(f"(process logs in {run.log_dir})")
    if output is not None:
        command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
        write_markdown(output, command.strip(), size.name, rows, peaks, pg_version, notes)
        print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
