"""Group commit: appending client batches to the log of record (the ledger's use case).

Why appends are serialised. Every append takes the row lock on `log_head` first
and holds it until it commits. That buys three things no cheaper scheme gives:

1. Positions are gap-free: the next position is `head + 1`, computed under the
   lock, so a rolled-back append never burns a number (a sequence would).
2. Positions become visible in commit order. With a sequence, writer A could
   take 7, writer B take 8 and commit first; a reader tailing `position > N`
   would see 8, move on, and never see 7. Under the lock, nobody gets 8 before
   7 has committed, so `read_after(last_seen)` never skips an event.
3. Validation is exact: the write model is caught up to the head while the lock
   is held, so R9 checks see every event that precedes the batch, even those
   another ledger process appended a moment ago.

The price is one writer at a time; the locked section is therefore kept to a few
round trips (lock and head, known event ids, one statement that inserts the rows,
moves the head and notifies) and the pure-Python validation in between. Parsing
and schema validation happen before the lock is taken.

Why appends are grouped. One writer at a time means every request used to pay a
whole locked transaction of its own, and above all its own commit (an fsync, a few
ms, with the lock held). So requests that arrive while an append is in flight queue
up, and the next transaction takes all of them (up to `max_group_events`): one lock,
one insert, one commit for the lot. Each batch keeps its own
all-or-nothing answer: the batches are validated in arrival order against the model,
each from a journal mark, so a refused batch is taken back alone (its request gets
its 409) and the others go on. If the transaction fails, the whole group is taken
back: nothing of the group was appended. When the database answered the failure
(a row it refuses, say; `_refused_by_the_database`), each request of the group is
then tried again alone, in arrival order, so only the culprit fails and the other
clients' batches are appended as if they had come one by one. When the connection
failed (lost, timed out, cancelled) the outcome is unknown and nothing is retried:
every request of the group fails. The guarantees above are unchanged: each group or
lone retry is one append, under the same lock.

The log is a port (`ports.EventLog`): PostgreSQL in production
(`adapters/pg_event_log.py`), memory in the unit tests.

Usually a group is ONE round trip: decided against the model as it stands, sent as
one statement that commits by itself and only takes effect if the log's head is
still where the model is. The log is asked which ids it holds only when a repeat
is likely (a batch with client ids refused, or the unique index on event_id
objecting), and the head is read under the lock only when another process moved
it; both then go the long way, in a transaction (`_in_a_transaction`).
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.ledger.domain.appends import Appended, Known, Pending, Row, decide_batch
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_model import WriteModel
from services.ledger.service_layer.ports import EventLog, LockedLog

__all__ = ["Appended", "GroupCommit", "Pending"]

MAX_GROUP_EVENTS = 5000
IDLE_RELEASE_SECONDS = 0.25
_CATCH_UP_CHUNK = 5000


@dataclass(slots=True)
class Request:
    """One caller's batch, waiting for (or in) a group; `answer` is what it awaits."""

    batch: Sequence[Pending]
    actor: str
    recorded_at: datetime
    answer: asyncio.Future[list[Appended]]


# per request of a group: its answers, or why it was refused
Outcomes = list[list[Appended] | Exception]


def decide_group(
    model: WriteModel, group: list[Request], known: dict[uuid.UUID, Known], start: int
) -> tuple[Outcomes, list[Row]]:
    """Each batch in turn from its own journal mark: a refused one is taken back
    alone, and the ids it took are forgotten with it. The caller has begun the
    model's journal, and commits or rolls back the group."""
    outcomes: Outcomes = []
    rows: list[Row] = []
    for request in group:
        mark = model.mark()
        try:
            results, mine, taken = decide_batch(
                model, request.batch, known, start + len(rows), request.recorded_at, request.actor
            )
        except Exception as exc:  # refused (or a bug in a rule): this batch alone fails
            model.rollback_to(mark)
            outcomes.append(exc)
            continue
        rows.extend(mine)
        known.update(taken)
        outcomes.append(results)
    return outcomes, rows


def may_repeat(group: list[Request], outcomes: Outcomes) -> bool:
    """Was a batch with client ids refused? It may be a retry of events the log
    holds (re-creating what exists), which only asking the log can tell."""
    return any(
        isinstance(outcome, RuleViolation) and any(p.client_id for p in request.batch)
        for request, outcome in zip(group, outcomes, strict=True)
    )


class GroupCommit:
    """The one writer of the log for this process; holds the write model."""

    def __init__(
        self,
        log: EventLog,
        model: WriteModel | None = None,
        *,
        max_group_events: int = MAX_GROUP_EVENTS,
    ) -> None:
        self.log = log
        self.model = model or WriteModel()
        self.max_group_events = max_group_events
        # The model is shared by every request: one group at a time in this process
        # (the writer task), and `load` waits for it.
        self._lock = asyncio.Lock()
        self._queue: collections.deque[Request] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._closing: asyncio.Future[None] | None = None

    async def load(self) -> None:
        """Bring the write model up to the log's head (at start-up)."""
        async with self._lock:
            try:
                await self._catch_up(self.log, await self.log.head())
            finally:
                await self.log.release()

    async def _catch_up(self, log: EventLog | LockedLog, upto: int) -> None:
        while self.model.position < upto:
            events = await log.read_after(self.model.position, _CATCH_UP_CHUNK, upto)
            if not events:
                raise RuntimeError(f"log head is {upto} but no event after {self.model.position}")
            for event in events:
                self.model.apply_recorded(event)

    async def append(
        self, batch: Sequence[Pending], actor: str, now: datetime | None = None
    ) -> list[Appended]:
        """Append `batch` atomically; duplicates answer their original place.
        Raises RuleViolation (nothing of the batch appended, model unchanged), or the
        log's error (nothing of the batch appended: when the log refused a group of
        several, each was tried again alone, and this one failed)."""
        answer: asyncio.Future[list[Appended]] = asyncio.get_running_loop().create_future()
        self._queue.append(Request(batch, actor, now or datetime.now(UTC), answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        # A caller that goes away before its group is taken is left out of it; once
        # taken, its batch is appended (or refused) all the same.
        return await answer

    async def _drain(self) -> None:
        """The writer: one group after another while requests are waiting. The log
        keeps its session while there is work and for `IDLE_RELEASE_SECONDS` after."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        try:
            while self._queue:
                group = self._take()
                if group:
                    await self._append_group(group)
        finally:
            self._writer = None
            while self._queue:  # only when the writer itself was cancelled
                self._queue.popleft().answer.cancel()
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(IDLE_RELEASE_SECONDS, self._release_when_idle)

    def _release_when_idle(self) -> None:
        self._idle = None
        if self._writer is None:
            self._closing = asyncio.ensure_future(self.log.release())

    async def close(self) -> None:
        """Give the log's session back now (it goes by itself once idle anyway)."""
        async with self._lock:
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
            await self.log.release()

    def _take(self) -> list[Request]:
        """The waiting requests, oldest first, up to the group's cap (at least one)."""
        group: list[Request] = []
        size = 0
        while self._queue:
            request = self._queue[0]
            if group and size + len(request.batch) > self.max_group_events:
                break
            self._queue.popleft()
            if not request.answer.done():  # its caller went away: leave it out
                group.append(request)
                size += len(request.batch)
        return group

    async def _append_group(self, group: list[Request]) -> None:
        async with self._lock:
            try:
                outcomes = await self._decide_and_insert(group)
            except BaseException as exc:
                # nothing of the group was appended (the model is taken back)
                await self.log.discard()
                if len(group) > 1 and self.log.refused(exc):
                    await self._one_by_one(group)
                    return
                for request in group:
                    _fail(request, exc)
                if not isinstance(exc, Exception):
                    raise
                return
        _answer(group, outcomes)

    async def _decide_and_insert(self, group: list[Request]) -> Outcomes:
        outcomes = await self._in_one_step(group)
        if outcomes is None:
            outcomes = await self._in_a_transaction(group)
        return outcomes

    async def _one_by_one(self, group: list[Request]) -> None:
        """After the log refused a group: each request alone, in order (under the
        lock, held by the caller), so the refusal falls on the request that caused
        it. Should the connection fail meanwhile, the requests not yet tried fail
        with that error (nothing of theirs was appended)."""
        for i, request in enumerate(group):
            try:
                outcomes = await self._decide_and_insert([request])
            except BaseException as exc:
                await self.log.discard()
                if self.log.refused(exc):
                    _fail(request, exc)
                    continue
                for rest in group[i:]:
                    _fail(rest, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            _answer([request], outcomes)

    async def _in_one_step(self, group: list[Request]) -> Outcomes | None:
        """The usual case, in ONE round trip: decided against the model as it is, the
        group goes in by one step that commits by itself, only if the head is still
        where the model is. None when that cannot decide the group: the log moved on
        (another process appended), an id may be a repeat (a batch with client ids
        refused, or the log's unique event id objected); then `_in_a_transaction`."""
        model = self.model
        start = model.position
        model.begin()
        try:
            outcomes, rows = decide_group(model, group, {}, start)
            if may_repeat(group, outcomes):
                model.rollback()
                return None
            if rows:
                moved = await self.log.insert_at(rows, start)
            else:  # refusals and in-group duplicates only: exact if the head is ours
                moved = await self.log.head() == start
        except BaseException as exc:
            model.rollback()
            if self.log.id_taken(exc):
                return None
            raise
        if not moved:
            model.rollback()
            return None
        model.commit(start + len(rows))
        return outcomes

    async def _in_a_transaction(self, group: list[Request]) -> Outcomes:
        """Under the lock taken first: catch the model up with the log, ask the log
        which ids it already holds (duplicates answer their original place), decide
        and insert. Raises the log's error (the model is taken back)."""
        model = self.model
        try:
            async with self.log.locked() as locked:
                start = locked.head
                await self._catch_up(locked, start)
                ids = [p.event_id for r in group for p in r.batch if p.client_id]
                known = await locked.known_events(ids)
                model.begin()
                outcomes, rows = decide_group(model, group, known, start)
                await locked.insert(rows, start)
        except BaseException:
            # refused by the log (even at COMMIT): take the whole group back
            if model.journal.active:
                model.rollback()
            raise
        model.commit(start + len(rows))
        return outcomes


def _answer(group: list[Request], outcomes: Outcomes) -> None:
    for request, outcome in zip(group, outcomes, strict=True):
        if request.answer.done():
            continue
        if isinstance(outcome, Exception):
            request.answer.set_exception(outcome)
        else:
            request.answer.set_result(outcome)


def _fail(request: Request, exc: BaseException) -> None:
    if request.answer.done():
        return
    if isinstance(exc, Exception):
        request.answer.set_exception(exc)
    else:  # the writer was cancelled (shutting down)
        request.answer.cancel()
