"""One bench run: servers up, the limits, then Tally's scenarios, then the table.

Each Tally scenario runs when its piece exists in this installation and says
`n/a (reason)` otherwise, so the harness is useful while Tally is being built.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import limits
from bench.client import TallyClient
from bench.finance import FinanceWatch, ensure_topics
from bench.org import Org, build_org
from bench.report import Row, mib, rate, verdict
from bench.scenarios import change_rate, freshness, post_setup, replay, replay_available, wait_for
from bench.servers import Database, RssSampler, TallyProcess
from bench.sizes import Size
from bench.stats import percentile
from bench.workload import Batches, bare_rows, ingest_batches, setup_batches, single_events
from shared.infra.auth import SCOPES, create_token
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker
from shared.infra.settings import Settings

TARGETS = {
    "batched ingest": "≥ 20,000 events/s and ≥ 0.4 of the limit",
    "single-event ingest": "≥ 0.35 of the limit; p99 ≤ 25 ms",
    "recalculate one project": "≤ 1 s and ≤ 5× the limit",
    "bulk recalculation": "≥ 100,000 entries/s",
    "tally replay": "≥ 50,000 events/s and ≥ 0.5 of the limit",
    "freshness": "p99 ≤ 100 ms",
    "memory: worker in bulk": "≤ 500 MiB, flat as projects grow",
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


async def measure_limits(
    run: Run, org: Org, batches: Batches, singles: list[dict[str, object]]
) -> dict[str, float]:
    """Every limit but the log read, before Tally runs, so they do not share the CPU."""
    size, rows = run.size, run.rows
    out: dict[str, float] = {}
    run.say("limit: executemany into a bare table")
    envs = (e for batch in batches.events for e in batch)
    prefix = [r for _, r in zip(range(size.limit_batch_rows), bare_rows(envs), strict=False)]
    out["batched"] = await limits.batched_insert(run.dsn, prefix)
    rows["batched ingest"].limit = f"{rate(out['batched'])} (executemany, 500 a transaction)"

    run.say("limit: single INSERTs from 16 connections")
    out["single"], lat = await limits.single_inserts(
        run.dsn, list(bare_rows(singles)), size.single_clients
    )
    p50, p99 = ms(lat)
    rows["single-event ingest"].limit = f"{rate(out['single'])}, p50 {p50:.1f} ms, p99 {p99:.1f} ms"

    run.say("limit: one SQL statement pricing the hour entries")
    await limits.load_pricing_tables(run.dsn, batches.hour_rows, org.rates, org.users)
    big = org.projects[0].project_id
    out["one"], n_one = await limits.pricing(run.dsn, [big])
    rows["recalculate one project"].limit = f"{out['one']:.3f} s ({n_one:,} rows, SQL)"
    seconds, n_all = await limits.pricing(run.dsn, [p.project_id for p in org.projects])
    out["bulk"] = n_all / seconds
    rows["bulk recalculation"].limit = f"{rate(out['bulk'], 'entries/s')} ({n_all:,} rows, SQL)"

    run.say("limit: produce -> consume round trips")
    p50, p99 = ms(await limits.roundtrip(run.broker.bootstrap, size.roundtrips))
    out["fresh"] = p99
    rows["freshness"].limit = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (bare round trip)"
    return out


async def run_all(size: Size) -> tuple[Run, str]:
    db = Database()
    run = Run(size, db, EmbeddedBroker(), Path(tempfile.mkdtemp(prefix="tally-bench-")))
    pg_version = "?"
    try:
        run.say(f"size {size.name}: PostgreSQL ({'starting'})")
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
        run.say(
            f"{sum(len(p) for p in setup)} setup requests, {batches.event_count:,} ingest events"
            f" in {len(batches.bodies):,} requests, {len(batches.hour_rows):,} hour entries"
        )
        lim = await measure_limits(run, org, batches, singles)
        await tally_scenarios(run, org, setup, batches, singles, fresh, lim)
        await replay_scenario(run)
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
) -> None:
    size, rows = run.size, run.rows
    settings = Settings()
    secret = secrets.token_urlsafe(48)
    env = {
        "TALLY_DATABASE_URL": run.db.url,
        "TALLY_KAFKA_BOOTSTRAP": run.broker.bootstrap,
        "TALLY_TOKEN_SECRET": secret,
        "TALLY_DATA_DIR": str(run.log_dir / "data"),
        "TALLY_LOG_LEVEL": "WARNING",
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
        outcome, seconds = await client.post_all(batches.bodies, size.batch_concurrency)
        value = outcome.events / seconds
        row = rows["batched ingest"]
        row.tally = rate(value) + _failures(outcome)
        row.ratio = f"{value / lim['batched']:.2f}"
        row.met = verdict(
            value >= 20_000, value >= 0.4 * lim["batched"], not outcome.failed_requests
        )
        last = outcome.last_position

        run.say("single-event ingest, 16 clients")
        outcome, seconds = await client.post_singles(
            singles, size.single_clients, size.single_seconds
        )
        value = outcome.events / seconds
        p50, p99 = ms(outcome.latencies)
        row = rows["single-event ingest"]
        row.tally = f"{rate(value)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms" + _failures(outcome)
        row.ratio = f"{value / lim['single']:.2f}"
        row.met = verdict(value >= 0.35 * lim["single"], p99 <= 25, not outcome.failed_requests)
        last = max(last, outcome.last_position)

        later = [
            "recalculate one project",
            "bulk recalculation",
            "freshness",
            "memory: worker in bulk",
        ]
        if not recalc.available():
            run.na(later, recalc.reason)
            return
        recalc.start()
        run.procs["recalc"] = recalc
        if not await recalc.wait_ready(http=True):
            run.na(later, recalc.reason)
            return
        watch = FinanceWatch(run.broker.bootstrap, settings.finance_topic)
        await watch.start()
        try:
            await worker_scenarios(run, org, client, watch, recalc, fresh, last, lim)
        finally:
            await watch.stop()
    finally:
        await client.close()


def _failures(outcome: object) -> str:
    failed = getattr(outcome, "failed_requests", 0)
    if not failed:
        return ""
    return f" [{failed} requests failed: {getattr(outcome, 'first_error', '')[:80]}]"


async def worker_scenarios(
    run: Run,
    org: Org,
    client: TallyClient,
    watch: FinanceWatch,
    recalc: TallyProcess,
    fresh: list[dict[str, object]],
    last: int,
    lim: dict[str, float],
) -> None:
    size, rows = run.size, run.rows
    big = org.projects[0].project_id
    later = ["recalculate one project", "bulk recalculation", "freshness", "memory: worker in bulk"]
    run.say(f"waiting for the worker to catch up with position {last:,}")
    start = time.perf_counter()
    if not await client.caught_up(big, last, size.catch_up_seconds):
        run.na(later, f"worker not caught up with the log in {size.catch_up_seconds:.0f} s")
        return
    took = time.perf_counter() - start
    run.notes.append(
        f"The worker, started after the ingest scenarios, caught up with {last:,} events"
        f" in {took:.1f} s ({last / max(took, 1e-9):,.0f} events/s)."
    )

    run.say("freshness")
    linger = min(10.0, 2.0 + 2 * size.freshness_seconds)
    fr = await freshness(client, watch, fresh, size.freshness_rate, linger)
    row = rows["freshness"]
    if fr.latencies:
        p50, p99 = ms(fr.latencies)
        extra = f"; {fr.missing} never seen in {linger:.0f} s" if fr.missing else ""
        if fr.unanswered:
            extra += f"; {fr.unanswered} POSTs unanswered after {linger:.0f} s"
        row.tally = (
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(fr.latencies):,} events at"
            f" {size.freshness_rate}/s, {fr.by_cause:,} by cause{extra})" + _failures(fr.outcome)
        )
        row.ratio = f"{p99 / lim['fresh']:.1f}× (p99)" if lim["fresh"] else "—"
        row.met = verdict(p99 <= 100, not fr.missing, not fr.unanswered)
    else:
        row.na("no ProjectFinancesChanged seen on the finance topic")

    run.say("recalculate one project")
    await change_rate(client, org, 1)
    start = time.perf_counter()
    position = await client.recalculate(big)
    timed = await wait_for(client, watch, {(big, position)}, start, size.catch_up_seconds)
    row = rows["recalculate one project"]
    if timed is None:
        row.na("no FinancesRecalculated seen")
    else:
        row.tally = f"{timed.seconds:.3f} s ({size.hours_big:,} entries; {timed.via})"
        row.ratio = f"{timed.seconds / lim['one']:.1f}×"
        row.met = verdict(timed.seconds <= 1.0, timed.seconds <= 5 * lim["one"])

    run.say("bulk recalculation")
    sampler = recalc.sampler
    before = sampler.window() if sampler else 0
    await change_rate(client, org, 2)
    ids = [p.project_id for p in org.projects]
    start = time.perf_counter()
    positions = await client.recalculate_many(ids)
    keys = set(zip(ids, positions, strict=True))
    marks: list[int] = []
    tracker = asyncio.create_task(rss_by_progress(watch, keys, sampler, marks))
    try:
        timed = await wait_for(client, watch, keys, start, size.catch_up_seconds)
    finally:
        tracker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tracker
    row = rows["bulk recalculation"]
    memory = rows["memory: worker in bulk"]
    if timed is None:
        row.na("not every FinancesRecalculated seen")
        memory.na("bulk recalculation did not finish")
        return
    value = size.hours_total / timed.seconds
    row.tally = (
        f"{rate(value, 'entries/s')} ({len(ids):,} projects in {timed.seconds:.1f} s; {timed.via})"
    )
    row.ratio = f"{value / lim['bulk']:.2f}"
    row.met = verdict(value >= 100_000)
    peak = sampler.window_peak if sampler else 0
    # Flat: from a quarter of the projects done to all of them, RSS grows < 10 % + 16 MiB.
    flat = len(marks) < 2 or marks[-1] <= marks[0] * 1.1 + 16 * 2**20
    path = " → ".join(mib(m) for m in marks)
    memory.tally = (
        f"peak {mib(peak)}; {mib(before)} at the start, {path} at 25/50/75/100 % of projects"
        + ("" if flat else " (grows)")
    )
    memory.met = verdict(peak <= 500 * 2**20, flat)


async def rss_by_progress(
    watch: FinanceWatch,
    keys: set[tuple[str, int]],
    sampler: RssSampler | None,
    marks: list[int],
) -> None:
    """The worker's RSS when 25, 50, 75 and 100 % of the projects are recalculated."""
    if sampler is None:
        return
    for quarter in (1, 2, 3, 4):
        await watch.wait_some(keys, -(-quarter * len(keys) // 4))
        marks.append(sampler.last)


async def replay_scenario(run: Run) -> None:
    row = run.rows["tally replay"]
    count = await limits.log_size(run.dsn)
    run.say("limit: reading and decoding the whole log")
    limit, read = await limits.log_read(run.dsn, bare=count == 0)
    source = "Tally's log" if count else "the bench's bare copy; Tally's log is empty"
    row.limit = f"{rate(limit)} ({read:,} events, read_after + decode, {source})"
    if row.tally != "n/a":
        return
    if count == 0:
        row.na("the log is empty")
        return
    reason = replay_available()
    if reason:
        row.na(reason)
        return
    run.say("tally replay")
    seconds, code, peak = await replay(
        run.env, str(run.log_dir / "replay.log"), run.size.catch_up_seconds
    )
    run.replay_rss = peak
    said = (run.log_dir / "replay.log").read_text(errors="replace").strip().splitlines()
    if said:
        run.notes.append(f"`tally replay` said: {said[-1][:200]}")
    value = count / seconds
    suffix = "" if code == 0 else f" [exit code {code}]"
    row.tally = f"{rate(value)} ({seconds:.1f} s){suffix}"
    row.ratio = f"{value / limit:.2f}"
    row.met = verdict(value >= 50_000, value >= 0.5 * limit, code == 0)
