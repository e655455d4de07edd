"""Which projects have news, up to which position, and which Kafka offsets are done.

Kafka only tells the worker WHICH projects to advance and UP TO WHERE; the events
themselves are read from the log of record. A message is done once every project
it names has been advanced to at least its position; a partition's offset may be
committed up to the last message whose own and all earlier messages' work is done.
Everything here is pure bookkeeping (no I/O), so it is unit-testable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import orjson

from shared.events import project_of_stream

#: Events that make a recalculation (R6.2, R6.3): their projects are advanced a few at
#: a time (`heavy_batch`), so that expensive re-pricings never hold cheap work of others
#: back for long, while a bulk recalculation of many projects still shares round trips
#: and commits.
#: ProjectStatusChanged only recalculates from `complete`, which a message alone can't
#: tell; counting every status change as heavy only costs scheduling, not correctness.
TRIGGERS = frozenset(
    {"FinancesRecalculationRequested", "TaskStatusChanged", "TaskMoved", "ProjectStatusChanged"}
)


@dataclass(frozen=True, slots=True)
class Notice:
    """What one ledger message tells the worker."""

    position: int
    projects: tuple[str, ...]
    trigger: bool


def parse_notice(value: bytes) -> Notice:
    """Read only what scheduling needs from an envelope (no pydantic: this is the hot path)."""
    obj = orjson.loads(value)
    position = int(obj["position"])
    project = project_of_stream(str(obj["stream"]))
    if project is None:  # role, user, company: reference data is read from the log
        return Notice(position, (), False)
    kind = str(obj["type"])
    projects: tuple[str, ...] = (project,)
    if kind == "TaskMoved":
        target = str(obj["data"]["to_project_id"])
        if target != project:
            projects = (project, target)
    return Notice(position, projects, kind in TRIGGERS)


@dataclass(frozen=True, slots=True)
class Batch:
    projects: tuple[str, ...]
    upto: int
    heavy: bool


class Scheduler:
    def __init__(self, *, cheap_batch: int = 500, heavy_batch: int = 16) -> None:
        self.cheap_batch = cheap_batch
        self.heavy_batch = heavy_batch
        self.pending: dict[str, int] = {}
        self.heavy: set[str] = set()
        # Highest position each project was advanced to by this worker. Positions at
        # or below it are done; a redelivered message for them needs no work.
        self.done: dict[str, int] = {}
        self._queues: dict[Hashable, deque[tuple[int, Notice]]] = {}
        self._commit: dict[Hashable, int] = {}
        self._last_heavy = False
        self.queued = 0

    def add(self, partition: Hashable, offset: int, notice: Notice) -> None:
        self._queues.setdefault(partition, deque()).append((offset, notice))
        self.queued += 1
        for project in notice.projects:
            if self.done.get(project, 0) >= notice.position:
                continue
            if self.pending.get(project, 0) < notice.position:
                self.pending[project] = notice.position
            if notice.trigger:
                self.heavy.add(project)
        self._drain(partition)

    def retry(self, project: str, position: int) -> None:
        """Advance `project` to `position` again, with no message behind it (a parked
        project, when the worker starts). Heavy: a parked project goes alone anyway."""
        if self.pending.get(project, 0) < position:
            self.pending[project] = position
        self.heavy.add(project)

    def has_work(self) -> bool:
        return bool(self.pending)

    def next_batch(self) -> Batch | None:
        """Cheap projects together, heavy ones `heavy_batch` at a time (oldest news
        first), alternating when both wait."""
        if not self.pending:
            return None
        cheap_waiting = len(self.heavy) < len(self.pending)
        if self.heavy and (self._last_heavy is False or not cheap_waiting):
            heavy = self._heavy_oldest(set())
            self._last_heavy = True
            return Batch(tuple(heavy), max(self.pending[p] for p in heavy), heavy=True)
        chosen: list[str] = []
        for project in self.pending:
            if project not in self.heavy:
                chosen.append(project)
                if len(chosen) >= self.cheap_batch:
                    break
        self._last_heavy = False
        return Batch(tuple(chosen), max(self.pending[p] for p in chosen), heavy=False)

    def heavy_after(self, batch: Batch) -> list[str]:
        """The projects the next heavy batch after `batch` would take, as things stand
        (a guess, for loading ahead: news may change it)."""
        return self._heavy_oldest(set(batch.projects))

    def _heavy_oldest(self, taken: set[str]) -> list[str]:
        """Up to `heavy_batch` heavy projects, oldest news first, but those `taken`."""
        out: list[str] = []
        for project in self.pending:
            if project in self.heavy and project not in taken:
                out.append(project)
                if len(out) >= self.heavy_batch:
                    break
        return out

    def completed(self, projects: Iterable[str], upto: int) -> None:
        """`projects` were advanced to `upto` (and committed) in the log of record."""
        for project in projects:
            if self.done.get(project, 0) < upto:
                self.done[project] = upto
            if self.pending.get(project, upto + 1) <= upto:
                del self.pending[project]
                self.heavy.discard(project)
        for partition in self._queues:
            self._drain(partition)

    def _drain(self, partition: Hashable) -> None:
        queue = self._queues[partition]
        while queue:
            offset, notice = queue[0]
            if any(self.done.get(p, 0) < notice.position for p in notice.projects):
                break
            queue.popleft()
            self.queued -= 1
            self._commit[partition] = offset + 1

    def partitions(self) -> list[Hashable]:
        return list(self._queues)

    def take_commits(self) -> dict[Hashable, int]:
        """Offsets (next to read) safe to commit since the last call."""
        commits, self._commit = self._commit, {}
        return commits

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Partitions revoked by a rebalance: their messages are someone else's now.

        Pending projects stay: advancing them anyway is harmless (advance is idempotent).
        """
        for partition in partitions:
            queue = self._queues.pop(partition, None)
            if queue is not None:
                self.queued -= len(queue)
            self._commit.pop(partition, None)
