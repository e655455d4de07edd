"""The scenarios that need the recalc worker, and `tally replay`. Each is guarded: a
scenario that fails says `n/a (error)` in its row and the run goes on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import traceback
from collections.abc import Awaitable

import asyncpg
import orjson

from bench import limits
from bench.client import TallyClient
from bench.finance import FinanceWatch, LedgerWatch
from bench.org import Org
from bench.report import mib, rate, verdict
from bench.run import AS_OF, Run, failures, ms
from bench.scenarios import change_rate, freshness, replay, replay_available, wait_for
from bench.servers import RssSampler, TallyProcess
from bench.stats import percentile
from shared.infra.settings import Settings

WORKER_ROWS = [
    "recalculate one project",
    "bulk recalculation",
    AS_OF,
    "freshness",
    "memory: worker in bulk",
]


async def guarded(run: Run, names: list[str], step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as exc:  # one scenario's failure must not lose the others' figures
        traceback.print_exc()
        run.na(names, f"{type(exc).__name__}: {str(exc)[:100]}")


async def worker_scenarios(
    run: Run,
    org: Org,
    client: TallyClient,
    watch: FinanceWatch,
    recalc: TallyProcess,
    fresh: list[dict[str, object]],
    last: int,
    lim: dict[str, float],
    only: frozenset[str] | None = None,
) -> None:
    """The scenarios that need the worker (those in `only`, when given), after it has
    caught up with the whole log."""
    size = run.size
    run.say(f"waiting for the worker to catch up with position {last:,}")
    start = time.perf_counter()
    every = [p.project_id for p in org.projects + org.side]
    if not await client.all_caught_up(every, last, size.catch_up_seconds):
        run.na(WORKER_ROWS, f"worker not caught up with the log in {size.catch_up_seconds:.0f} s")
        return
    took = time.perf_counter() - start
    run.notes.append(
        f"The worker, started after the ingest scenarios, caught up with {last:,} events"
        f" in {took:.1f} s ({last / max(took, 1e-9):,.0f} events/s)."
    )
    # What the finance consumer gathered while the worker caught up stays to the end too.
    gc.collect()
    gc.freeze()
    if only is None or "freshness" in only:
        await drained(run, watch, size.catch_up_seconds)
        await guarded(run, ["freshness"], measure_freshness(run, client, watch, fresh, lim))
    if only is None or "one" in only:
        await guarded(run, ["recalculate one project"], recalc_one(run, org, client, watch, lim))
    if only is None or "as_of" in only:
        await guarded(run, [AS_OF], as_of_reads(run, org, client))
    if only is None or "bulk" in only:
        bulk_rows = ["bulk recalculation", "memory: worker in bulk"]
        await guarded(run, bulk_rows, recalc_bulk(run, org, client, watch, recalc.sampler, lim))


async def drained(run: Run, watch: FinanceWatch, patience: float) -> None:
    """Until the bench has read every finance message written so far: catching up
    with a log of a million events writes about as many, and freshness measured while
    the relay and this consumer still work through them would time that backlog."""
    start = time.perf_counter()
    conn = await asyncpg.connect(run.dsn)
    try:
        head = int(await conn.fetchval("SELECT seq FROM finance_head"))
    finally:
        await conn.close()
    await watch.wait_messages(head, patience)
    run.notes.append(
        f"The finance topic ({head:,} messages after the catch-up) was read to its end"
        f" {time.perf_counter() - start:.1f} s after the worker had caught up;"
        " freshness is measured from then."
    )


async def measure_freshness(
    run: Run,
    client: TallyClient,
    watch: FinanceWatch,
    fresh: list[dict[str, object]],
    lim: dict[str, float],
) -> None:
    size = run.size
    run.say("freshness")
    linger = min(10.0, 2.0 + 2 * size.freshness_seconds)
    settings = Settings()
    ledger = LedgerWatch(run.broker.bootstrap, settings.ledger_topic, settings.topic_partitions)
    await ledger.start()
    try:
        fr = await freshness(client, watch, fresh, size.freshness_rate, linger, ledger)
    finally:
        await ledger.stop()
    row = run.rows["freshness"]
    if not fr.latencies:
        row.na("no ProjectFinancesChanged seen on the finance topic")
        return
    p50, p99 = ms(fr.latencies)
    extra = f"; {fr.missing} never seen in {linger:.0f} s" if fr.missing else ""
    if fr.unanswered:
        extra += f"; {fr.unanswered} POSTs unanswered after {linger:.0f} s"
    row.tally = (
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(fr.latencies):,} events at"
        f" {size.freshness_rate}/s, {fr.by_cause:,} by cause{extra})" + failures(fr.outcome)
    )
    row.ratio = f"{p99 / lim['fresh']:.1f}× (p99)" if lim["fresh"] else "—"
    row.met = verdict(p99 <= 100, not fr.missing, not fr.unanswered)
    if fr.hops["relay"]:
        parts = ", ".join(
            f"{name} p50 {percentile(v, 50) * 1000:.1f} ms, p99 {percentile(v, 99) * 1000:.1f} ms"
            for name, v in fr.hops.items()
        )
        run.notes.append(
            f"Freshness by hop ({len(fr.hops['relay']):,} events; from the Kafka timestamps of"
            " the ledger message and of the finance message): the POST until the relay"
            " produced the event (relay), until the worker produced its change (worker),"
            f" until the bench read it (read): {parts}."
        )


async def recalc_one(
    run: Run, org: Org, client: TallyClient, watch: FinanceWatch, lim: dict[str, float]
) -> None:
    size, big = run.size, org.projects[0].project_id
    run.say("recalculate one project")
    await change_rate(client, org, 1)
    start = time.perf_counter()
    position = await client.recalculate(big)
    timed = await wait_for(client, watch, {(big, position)}, start, size.catch_up_seconds)
    row = run.rows["recalculate one project"]
    if timed is None:
        row.na("no FinancesRecalculated seen")
        return
    run.recalc_one = timed.seconds
    row.tally = f"{timed.seconds:.3f} s ({size.hours_big:,} entries; {timed.via})"
    row.ratio = f"{timed.seconds / lim['one']:.2f}×"
    row.met = verdict(timed.seconds <= 1.5 * lim["one"], timed.seconds <= 0.5)


async def recalc_bulk(
    run: Run,
    org: Org,
    client: TallyClient,
    watch: FinanceWatch,
    sampler: RssSampler | None,
    lim: dict[str, float],
) -> None:
    size = run.size
    run.say("bulk recalculation")
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
    row = run.rows["bulk recalculation"]
    memory = run.rows["memory: worker in bulk"]
    if timed is None:
        row.na("not every FinancesRecalculated seen")
        memory.na("bulk recalculation did not finish")
        return
    value = size.hours_total / timed.seconds
    row.tally = (
        f"{rate(value, 'entries/s')} ({len(ids):,} projects in {timed.seconds:.1f} s; {timed.via})"
    )
    row.ratio = f"{value / lim['bulk']:.2f}"
    row.met = verdict(value >= 0.6 * lim["bulk"], value >= 200_000)
    peak = sampler.window_peak if sampler else 0
    # Flat: from a quarter of the projects done to all of them, RSS grows < 10 % + 16 MiB.
    flat = len(marks) < 2 or marks[-1] <= marks[0] * 1.1 + 16 * 2**20
    path = " → ".join(mib(m) for m in marks)
    memory.tally = (
        f"peak {mib(peak)}; {mib(before)} at the start, {path} at 25/50/75/100 % of projects"
        + ("" if flat else " (grows)")
    )
    memory.met = verdict(peak <= 400 * 2**20, flat)


async def best_of(
    client: TallyClient, path: str, params: dict[str, int], runs: int = 3, patient: float = 30.0
) -> tuple[float, int, bytes]:
    """The fastest of `runs` reads of the same answer (two when the first took longer
    than `patient` s), how many ran, and the last body."""
    best, done, content = float("inf"), 0, b""
    while done < runs:
        seconds, content = await client.read_timed(path, params)
        best, done = min(best, seconds), done + 1
        if done == 1 and seconds > patient:
            runs = min(runs, 2)
    return best, done, content


async def as_of_reads(run: Run, org: Org, client: TallyClient) -> None:
    """`GET /finances?as_of=N` and `/hours?as_of=N` of the big project, N the position of
    the middle event of its stream; the limit beside them: the same run's recalculation
    of that project (run before this, so the log holds it too)."""
    big = org.projects[0].project_id
    row = run.rows[AS_OF]
    position, events, logged = await limits.middle_of_stream(run.dsn, f"project-{big}")
    run.say(f"as_of reads of the big project at position {position:,}")
    params = {"as_of": position}
    finances, fin_runs, content = await best_of(client, f"/v1/projects/{big}/finances", params)
    if int(orjson.loads(content).get("as_of", position)) != position:
        raise RuntimeError(f"/finances answered for another position: {content[:200]!r}")
    # /hours is not paginated (api.md): one answer holds every entry of the project.
    hours, hour_runs, content = await best_of(client, f"/v1/projects/{big}/hours", params)
    entries = len(orjson.loads(content)["hours"])
    complete = "" if entries == logged else f", but {logged:,} HoursLogged up to N"
    row.tally = (
        f"{finances:.3f} s (as_of={position:,}, event {events // 2 + 1:,} of {events:,} of"
        f" its stream, best of {fin_runs}); /hours: {hours:.3f} s, {entries:,} entries"
        f"{complete}, {len(content) / 2**20:,.1f} MiB (best of {hour_runs})"
    )
    if run.recalc_one is None:
        row.limit = "n/a (no recalculation of the project measured)"
        return
    row.limit = f"{run.recalc_one:.3f} s (recalculate one project, this run)"
    row.ratio = f"{finances / run.recalc_one:.2f}×"
    row.met = verdict(finances <= 2 * run.recalc_one, entries == logged)


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
    row.met = verdict(value >= 0.5 * limit, value >= 50_000, code == 0)
