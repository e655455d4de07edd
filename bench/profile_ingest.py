"""Ingest alone, for profiling the ledger: `tally ledger` in its own process, the bench's
workload (quick size), the two limits and the two ingest scenarios, nothing else.

    .venv/bin/python -m bench.profile_ingest [--size quick] [--concurrency 4]
        [--py-spy stacks.txt]   # sample the ledger process while the scenarios run

Uses the local PostgreSQL (or TALLY_BENCH_DATABASE_URL) like `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from bench import limits
from bench.client import TallyClient
from bench.org import build_org
from bench.run import ms
from bench.scenarios import post_setup
from bench.servers import Database, TallyProcess
from bench.sizes import SIZES
from bench.workload import bare_rows, ingest_batches, setup_batches, single_events
from shared.infra.auth import SCOPES, create_token
from shared.infra.db import plain_dsn


def _cpu(ledger: TallyProcess) -> tuple[float, float]:
    """CPU seconds used so far by the ledger and by this process (the load generator)."""
    assert ledger.proc is not None
    theirs = psutil.Process(ledger.proc.pid).cpu_times()
    mine = psutil.Process().cpu_times()
    return theirs.user + theirs.system, mine.user + mine.system


def _cpu_note(ledger: TallyProcess, before: tuple[float, float], seconds: float) -> str:
    after = _cpu(ledger)
    return (
        f"  ledger CPU {(after[0] - before[0]) / seconds:.0%} of a core,"
        f" load generator {(after[1] - before[1]) / seconds:.0%}"
    )


def _spy(out: str, pid: int) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` into `out` (collapsed stacks) until sent SIGINT."""
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    args = ["record", "-o", out, "-p", str(pid), "-r", "200", "--nonblocking", "--format", "raw"]
    return subprocess.Popen(
        [py_spy, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run(size_name: str, concurrency: int, py_spy: str | None, skip_limits: bool) -> None:
    size = SIZES[size_name]
    org = build_org(size)
    setup = setup_batches(org, size.batch_size)
    batches = ingest_batches(org, size)
    singles = single_events(org, size.single_events, "x", 13)
    db = Database()
    await db.start()
    ledger: TallyProcess | None = None
    spy: subprocess.Popen[bytes] | None = None
    try:
        dsn = plain_dsn(db.url)
        if not skip_limits:
            envs = (e for b in batches.events for e in b)
            rows = bare_rows(envs)
            prefix = [r for _, r in zip(range(size.limit_batch_rows), rows, strict=False)]
            batched = await limits.batched_insert(dsn, prefix)
            single, lat = await limits.single_inserts(dsn, list(bare_rows(singles)), 16)
            p50, p99 = ms(lat)
            print(f"limit batched: {batched:,.0f} events/s")
            print(f"limit single:  {single:,.0f} events/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        secret = secrets.token_urlsafe(48)
        env = {
            "TALLY_DATABASE_URL": db.url,
            "TALLY_TOKEN_SECRET": secret,
            "TALLY_LOG_LEVEL": "WARNING",
        }
        ledger = TallyProcess("ledger", env, Path(tempfile.mkdtemp(prefix="tally-prof-")))
        ledger.start()
        if not await ledger.wait_ready(http=True):
            raise SystemExit(f"ledger not ready: {ledger.reason}")
        token = create_token(secret, "p", SCOPES)
        client = TallyClient(ledger.base_url, ledger.base_url, token, 16)
        try:
            ceiling = await client.ceiling(2000, 16)
            print(f"client ceiling: {ceiling:,.0f} GET /healthz a second from 16 clients")
            outcome = await post_setup(client, setup, concurrency)
            if outcome.failed_requests:
                raise SystemExit(f"setup refused: {outcome.first_error}")
            if py_spy and ledger.proc is not None:
                spy = _spy(py_spy, ledger.proc.pid)
            cpu = _cpu(ledger)
            outcome, seconds = await client.post_all(batches.bodies, concurrency)
            print(_cpu_note(ledger, cpu, seconds))
            print(
                f"batched ingest: {outcome.events / seconds:,.0f} events/s"
                f" ({outcome.events:,} events, {outcome.failed_requests} failed"
                f" {outcome.first_error[:120]})"
            )
            cpu = _cpu(ledger)
            outcome, seconds = await client.post_singles(singles, 16, size.single_seconds)
            print(_cpu_note(ledger, cpu, seconds))
            p50, p99 = ms(outcome.latencies)
            print(
                f"single ingest:  {outcome.events / seconds:,.0f} events/s,"
                f" p50 {p50:.1f} ms, p99 {p99:.1f} ms ({outcome.failed_requests} failed"
                f" {outcome.first_error[:120]})"
            )
        finally:
            await client.close()
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        if ledger is not None:
            ledger.stop()
        await db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="quick", choices=sorted(SIZES))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--py-spy", default=None, help="write py-spy's collapsed stacks here")
    parser.add_argument("--skip-limits", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.size, args.concurrency, args.py_spy, args.skip_limits))


if __name__ == "__main__":
    main()
