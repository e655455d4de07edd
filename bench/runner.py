"""One bench run: servers up, the limits, then Tally's scenarios, then the table.

Each Tally scenario runs when its piece exists in this installation and says
`n/a (reason)` otherwise, so the harness is useful while Tally is being built.
"""

from __future__ import annotations

import gc
import os
import secrets
import tempfile
from pathlib import Path

from bench import limits
from bench.client import TallyClient
from bench.finance import FinanceWatch, ensure_topics
from bench.org import Org, build_org
from bench.recalc_runs import (
    WORKER_ROWS,
    guarded,
    replay_scenario,
    worker_scenarios,
)
from bench.report import rate, verdict
from bench.run import AS_OF, TARGETS, Run, failures, ms
from bench.scenarios import post_setup
from bench.servers import Database, TallyProcess
from bench.sizes import Size
from bench.workload import Batches, bare_rows, ingest_batches, setup_batches, single_events
from shared.infra.auth import SCOPES, create_token
from shared.infra.embedded import EmbeddedBroker
from shared.infra.settings import Settings

#: `--only` names and the rows each fills (bulk also measures the worker's memory)
ONLY_NAMES = {
    "batched": ["batched ingest"],
    "single": ["single-event ingest"],
    "one": ["recalculate one project"],
    "bulk": ["bulk recalculation", "memory: worker in bulk"],
    "replay": ["tally replay"],
    "as_of": [AS_OF],
    "freshness": ["freshness"],
}
#: what a name brings with it: as_of's limit is the same run's "recalculate one project"
NEEDS = {"as_of": frozenset({"one"})}


def parse_only(text: str | None) -> frozenset[str] | None:
    """`one,bulk` -> {"one", "bulk"}, with what each needs (`as_of` -> {"as_of", "one"});
    None: every scenario."""
    if text is None:
        return None
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = names - set(ONLY_NAMES)
    if unknown or not names:
        raise ValueError(f"--only: unknown {sorted(unknown)}; choose from {list(ONLY_NAMES)}")
    return names.union(*(NEEDS.get(n, frozenset()) for n in names))


def _wants(only: frozenset[str] | None, name: str) -> bool:
    return only is None or name in only


async def measure_limits(
    run: Run,
    org: Org,
    batches: Batches,
    singles: list[dict[str, object]],
    only: frozenset[str] | None = None,
) -> dict[str, float]:
    """Every limit but the log read, before Tally runs, so they do not share the CPU."""
    size, rows = run.size, run.rows
    out: dict[str, float] = {}
    if _wants(only, "batched"):
        await _batched_limit(run, batches, out)
    if _wants(only, "single"):
        await _single_limit(run, singles, out)
    if _wants(only, "one") or _wants(only, "bulk"):
        await _pricing_limits(run, org, batches, out)
    if _wants(only, "freshness"):
        run.say("limit: produce -> consume round trips")
        p50, p99 = ms(await limits.roundtrip(run.broker.bootstrap, size.roundtrips))
        out["fresh"] = p99
        rows["freshness"].limit = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (bare round trip)"
    return out


async def _batched_limit(run: Run, batches: Batches, out: dict[str, float]) -> None:
    size, rows = run.size, run.rows
    run.say("limit: executemany into a bare table")
    envs = (e for batch in batches.events for e in batch)
    prefix = [r for _, r in zip(range(size.limit_batch_rows), bare_rows(envs), strict=False)]
    out["batched"] = await limits.batched_insert(run.dsn, prefix)
    rows["batched ingest"].limit = f"{rate(out['batched'])} (executemany, 500 a transaction)"


async def _single_limit(run: Run, singles: list[dict[str, object]], out: dict[str, float]) -> None:
    size, rows = run.size, run.rows
    run.say("limit: single INSERTs from 16 connections")
    out["single"], lat = await limits.single_inserts(
        run.dsn, list(bare_rows(singles)), size.single_clients
    )
    p50, p99 = ms(lat)
    rows["single-event ingest"].limit = f"{rate(out['single'])}, p50 {p50:.1f} ms, p99 {p99:.1f} ms"


async def _pricing_limits(run: Run, org: Org, batches: Batches, out: dict[str, float]) -> None:
    rows = run.rows
    run.say("limit: one SQL statement pricing the hour entries")
    await limits.load_pricing_tables(run.dsn, batches.hour_rows, org.rates, org.users)
    big = org.projects[0].project_id
    out["one"], n_one = await limits.pricing(run.dsn, [big])
    rows["recalculate one project"].limit = f"{out['one']:.3f} s ({n_one:,} rows, SQL)"
    seconds, n_all = await limits.pricing(run.dsn, [p.project_id for p in org.projects])
    out["bulk"] = n_all / seconds
    rows["bulk recalculation"].limit = f"{rate(out['bulk'], 'entries/s')} ({n_all:,} rows, SQL)"


async def run_all(size: Size, only: frozenset[str] | None = None) -> tuple[Run, str]:
    db = Database()
    run = Run(size, db, EmbeddedBroker(), Path(tempfile.mkdtemp(prefix="tally-bench-")))
    pg_version = "?"
    try:
        run.say(f"size {size.name}: starting PostgreSQL")
        await db.start()
        pg_version = await db.version()
        run.say(f"database {db.name} on the {db.where}; broker starting")
        run.broker.start(run.log_dir / "broker.log")
        run.say("generating the organisation and the workload")
        org = build_org(size)
        setup = setup_batches(org, size.batch_size)
        batches = ingest_batches(org, size)
        singles = single_events(org, size.single_events, "x", 13)
        fresh = single_events(
            org, max(1, int(size.freshness_rate * size.freshness_seconds)), "f", 17
        )
        # The workload is millions of objects that live to the end: out of the
        # collector's sight, so that the harness's own collections (seconds each on a
        # heap this size) do not stall its clients and its finance consumer mid-figure.
        gc.collect()
        gc.freeze()
        run.say(
            f"{sum(len(p) for p in setup)} setup requests, {batches.event_count:,} ingest events"
            f" in {len(batches.bodies):,} requests, {len(batches.hour_rows):,} hour entries"
        )
        lim = await measure_limits(run, org, batches, singles, only)
        everything = list(TARGETS)
        if only is not None:
            skipped = [r for n, rs in ONLY_NAMES.items() if n not in only for r in rs]
            run.na(skipped, "not selected by --only")
        await guarded(
            run, everything, tally_scenarios(run, org, setup, batches, singles, fresh, lim, only)
        )
        if _wants(only, "replay"):
            await guarded(run, ["tally replay"], replay_scenario(run))
    finally:
        for proc in run.procs.values():
            proc.stop()
        run.broker.stop()
        await db.stop()
    return run, pg_version


async def tally_scenarios(
    run: Run,
    org: Org,
    setup: list[list[bytes]],
    batches: Batches,
    singles: list[dict[str, object]],
    fresh: list[dict[str, object]],
    lim: dict[str, float],
    only: frozenset[str] | None = None,
) -> None:
    size, rows = run.size, run.rows
    settings = Settings()
    secret = secrets.token_urlsafe(48)
    env = {
        "TALLY_DATABASE_URL": run.db.url,
        "TALLY_KAFKA_BOOTSTRAP": run.broker.bootstrap,
        "TALLY_TOKEN_SECRET": secret,
        "TALLY_DATA_DIR": str(run.log_dir / "data"),
        # BENCH_LOG_LEVEL=INFO shows the worker's slow transactions, by phase.
        "TALLY_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        # BENCH_SLOW_SECONDS=0 (with BENCH_LOG_LEVEL=INFO) logs every transaction's phases
        "TALLY_SLOW_TRANSACTION_SECONDS": os.environ.get("BENCH_SLOW_SECONDS", "0.5"),
    }
    run.env = env
    await ensure_topics(
        run.broker.bootstrap,
        [settings.ledger_topic, settings.finance_topic],
        settings.topic_partitions,
    )
    everything = list(TARGETS)
    ledger = TallyProcess("ledger", env, run.log_dir)
    if not ledger.available():
        run.na(everything, ledger.reason)
        return
    ledger.start()
    run.procs["ledger"] = ledger
    if not await ledger.wait_ready(http=True):
        run.na(everything, ledger.reason)
        return
    relay = TallyProcess("relay", env, run.log_dir)
    if relay.available():
        relay.start()
        run.procs["relay"] = relay
        await relay.wait_ready(http=False)
    token = create_token(secret, "bench", list(SCOPES))
    recalc = TallyProcess("recalc", env, run.log_dir)
    client = TallyClient(ledger.base_url, recalc.base_url, token, lanes=size.single_clients)
    try:
        ceiling = await client.ceiling(max(320, size.single_events // 4), size.single_clients)
        run.notes.append(
            f"The load generator reaches {ceiling:,.0f} requests/s of `GET /healthz` with"
            f" {size.single_clients} clients on this machine (its own ceiling)."
        )
        run.say("setup: posting the organisation")
        outcome = await post_setup(client, setup, size.batch_concurrency)
        if outcome.failed_requests:
            run.na(everything, f"setup refused: {outcome.first_error[:100]}")
            return
        run.say("batched ingest")
        # Always posted (every later scenario needs the data); reported when selected.
        outcome, seconds = await client.post_all(batches.bodies, size.batch_concurrency)
        if outcome.failed_requests and not _wants(only, "batched"):
            raise RuntimeError(f"batched ingest refused: {outcome.first_error[:100]}")
        if _wants(only, "batched"):
            value = outcome.events / seconds
            row = rows["batched ingest"]
            row.tally = rate(value) + failures(outcome)
            row.ratio = f"{value / lim['batched']:.2f}"
            row.met = verdict(
                value >= 20_000, value >= 0.4 * lim["batched"], not outcome.failed_requests
            )
        last = outcome.last_position

        if _wants(only, "single"):
            run.say("single-event ingest, 16 clients")
            outcome, seconds = await client.post_singles(
                singles, size.single_clients, size.single_seconds
            )
            value = outcome.events / seconds
            p50, p99 = ms(outcome.latencies)
            row = rows["single-event ingest"]
            row.tally = f"{rate(value)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms" + failures(outcome)
            row.ratio = f"{value / lim['single']:.2f}"
            row.met = verdict(value >= 0.35 * lim["single"], p99 <= 25, not outcome.failed_requests)
            last = max(last, outcome.last_position)
        if not any(_wants(only, n) for n in ("one", "bulk", "as_of", "freshness", "replay")):
            return

        if not recalc.available():
            run.na(WORKER_ROWS, recalc.reason)
            return
        recalc.start()
        run.procs["recalc"] = recalc
        if not await recalc.wait_ready(http=True):
            run.na(WORKER_ROWS, recalc.reason)
            return
        watch = FinanceWatch(run.broker.bootstrap, settings.finance_topic)
        await watch.start()
        try:
            await worker_scenarios(run, org, client, watch, recalc, fresh, last, lim, only)
        finally:
            await watch.stop()
    finally:
        await client.close()
