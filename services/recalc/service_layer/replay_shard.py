"""Parallel shards of `tally replay`: projects split so that each shard replays alone.

A task move needs both of its projects in one book, so projects linked by moves
(transitively: union-find) form a group, and whole groups are dealt to the shards,
heaviest first, each to the shard with the fewest events so far. A shard reads the
reference data (small: every shard reads it, R1.2 look-ups are "as known at P") and
then only its own project streams, in position order, applies them to a quiet book and
COPYs its projects into the new schema. Shards run in spawned processes, one per core.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass
from typing import Any

import orjson

from services.recalc.domain.finance_book import FinanceBook
from services.recalc.service_layer.asof import reference_as_of
from services.recalc.service_layer.isolation import describe
from services.recalc.service_layer.replay_copy import copy_projects
from shared.events import HoursLoggedAt, RecordedEvent, TaskMoved, project_of_stream
from shared.events.trusted import logged_hours
from shared.infra import eventlog

#: What a project costs a shard beyond its events, in events: its pricers' memos are
#: filled again for each project (and again after each change of what they read), so
#: the same events cost more in many small projects. On the bench's log, a shard of
#: 154 projects took 0.5-0.6 s more CPU than one of 54 with as many events (about
#: 13 µs an event).
STREAM_WEIGHT = 400


@dataclass(frozen=True, slots=True)
class ShardJob:
    dsn: str  # a plain asyncpg DSN: a spawned process opens its own connection
    schema: str
    streams: tuple[str, ...]  # the project streams of this shard
    upto: int
    batch: int  # log positions per read (a window: `eventlog.HISTORY_WINDOW_SQL`)


@dataclass(frozen=True, slots=True)
class ShardResult:
    events: int  # project-stream events applied
    projects: int
    rows: int
    read_seconds: float  # reading, decoding and applying
    write_seconds: float
    #: projects pricing could not apply (project id, error), left out of the rebuild
    unpriceable: tuple[tuple[str, str], ...] = ()


class _Groups:
    """Union-find over project ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        if parent != item:
            parent = self.parent[item] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def deal(
    counts: dict[str, int], moves: list[tuple[str, str]], shards: int
) -> list[tuple[str, ...]]:
    """Project streams by shard: projects linked by a move share a shard; groups are
    dealt heaviest first to the lightest shard (by events), deterministically."""
    groups = _Groups()
    for stream in counts:
        groups.find(stream)
    for source, target in moves:
        groups.union(source, target)
    members: dict[str, list[str]] = {}
    for stream in counts:
        members.setdefault(groups.find(stream), []).append(stream)
    weighted = sorted(
        members.values(), key=lambda group: (-sum(counts.get(s, 0) for s in group), min(group))
    )
    loads = [0] * shards
    out: list[list[str]] = [[] for _ in range(shards)]
    for group in weighted:
        index = loads.index(min(loads))
        out[index].extend(group)
        loads[index] += sum(counts.get(s, 0) for s in group)
    return [tuple(sorted(streams)) for streams in out]


async def plan(conn: Any, upto: int, shards: int) -> list[tuple[str, ...]]:
    """Read the project streams (with their sizes) and the moves up to `upto`; deal them."""
    rows = await conn.fetch(
        "SELECT stream, count(*) AS n FROM events WHERE position <= $1"
        " AND stream LIKE 'project-%' GROUP BY stream",
        upto,
    )
    counts = {r["stream"]: int(r["n"]) + STREAM_WEIGHT for r in rows}
    moved = await conn.fetch(
        "SELECT stream, data->>'to_project_id' AS target FROM events"
        " WHERE type = 'TaskMoved' AND position <= $1",
        upto,
    )
    moves = [(r["stream"], f"project-{r['target']}") for r in moved]
    for _, target in moves:
        counts.setdefault(target, STREAM_WEIGHT)  # a move into a project not (yet) created
    return deal(counts, moves, shards)


async def rebuild_shard(conn: Any, job: ShardJob) -> tuple[FinanceBook, ShardResult]:
    """Replay the shard's streams up to `job.upto` and COPY its projects to `job.schema`."""
    started = time.perf_counter()
    book = FinanceBook(await reference_as_of(conn, job.upto), quiet=True)
    failed: dict[str, str] = {}  # projects that cannot be priced, with why
    streams = list(job.streams)
    after, events = 0, 0
    apply, decode = book.apply_stored, eventlog.decode_history_row
    log, fields_of = book.log_bare, logged_hours
    # A replay only allocates (the book lives to the end): the cyclic collector would
    # walk millions of live lines again and again and find no garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        while streams and after < job.upto:
            until = min(after + job.batch, job.upto)
            rows = await conn.fetch(eventlog.HISTORY_WINDOW_SQL, after, until, streams)
            for row in rows:
                try:
                    if row[1] is None and not failed:  # a bare HoursLogged (eventlog.py)
                        fields = fields_of(row[6])
                        if fields is not None:
                            log(row[2], row[0], fields)
                            continue
                    event = decode(row)
                    if failed and _blocked(event, failed, book):
                        continue
                    apply(event)
                except Exception as exc:
                    _fail(book, row[2], row_target(row), failed, exc)
            events += len(rows)
            after = until
    finally:
        if collecting:
            gc.enable()
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    owned = {project_of_stream(s) for s in streams}
    project_ids = []
    for project_id in sorted(p for p in book.projects if p in owned and p not in failed):
        try:  # a quiet book sums only now: a total past what pricing carries fails here
            book.totals(project_id)
        except Exception as exc:
            _fail(book, f"project-{project_id}", None, failed, exc)
            continue
        project_ids.append(project_id)
    rows_written = await copy_projects(conn, job.schema, book, project_ids, job.upto)
    result = ShardResult(
        events=events,
        projects=len(project_ids),
        rows=rows_written,
        read_seconds=read_seconds,
        write_seconds=time.perf_counter() - started,
        unpriceable=tuple(sorted(failed.items())),
    )
    return book, result


def row_target(row: Any) -> str | None:
    """The project a task move (a row of `eventlog.HISTORY_WINDOW_SQL`) moves into, else
    None."""
    if row[4] != "TaskMoved":
        return None
    target = orjson.loads(row[6]).get("to_project_id")
    return target if isinstance(target, str) else None


def _blocked(
    event: RecordedEvent | HoursLoggedAt, failed: dict[str, str], book: FinanceBook
) -> bool:
    """Skip the events of a project that failed; a task move touching one fails its
    other side too (a live worker advances both sides of a move together)."""
    owner = project_of_stream(event.stream)
    if owner in failed:
        return True
    if isinstance(event.data, TaskMoved) and event.data.to_project_id in failed:
        if owner is not None:
            failed[owner] = failed[event.data.to_project_id]
            book.drop(owner)
        return True
    return False


def _fail(
    book: FinanceBook, stream: str, target: str | None, failed: dict[str, str], exc: Exception
) -> None:
    """The event of `stream` (moving a task into `target`) cannot be applied: its
    projects leave the rebuild, as a live worker parks them (isolation.py)."""
    error = describe(exc)
    for project_id in (project_of_stream(stream), target):
        if project_id is not None:
            failed[project_id] = error
            book.drop(project_id)


async def _run(job: ShardJob) -> ShardResult:
    import asyncpg

    conn = await asyncpg.connect(job.dsn)
    try:
        async with conn.transaction():
            _, result = await rebuild_shard(conn, job)
        return result
    finally:
        await conn.close()


def run_shard(job: ShardJob) -> ShardResult:
    """The entry point of a shard process (short-lived: no cyclic collection)."""
    gc.disable()
    return asyncio.run(_run(job))
