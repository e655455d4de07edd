"""Group commit on the in-memory log: no server. (The same use case on PostgreSQL:
tests/integration/ledger/test_group_commit.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any

import pytest

from services.ledger.adapters.memory_event_log import MemoryEventLog, Refused
from services.ledger.domain.appends import Appended, Pending, Row
from services.ledger.domain.errors import RuleViolation
from services.ledger.service_layer import group_commit as commits
from services.ledger.service_layer.group_commit import GroupCommit
from shared.events import parse_data


def pending(
    type_name: str, index: int = 0, event_id: uuid.UUID | None = None, **data: Any
) -> Pending:
    return Pending(
        index, event_id or uuid.uuid4(), parse_data(type_name, data), client_id=event_id is not None
    )


def role(role_id: str, index: int = 0, event_id: uuid.UUID | None = None) -> Pending:
    return pending("JobRoleDefined", index, event_id, role_id=role_id, name=role_id)


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each attempt decided (one entry an attempt)."""
    seen: list[int] = []
    real = commits.decide_group

    def counting(model: Any, group: list[Any], *args: Any) -> Any:
        seen.append(len(group))
        return real(model, group, *args)

    monkeypatch.setattr(commits, "decide_group", counting)
    return seen


async def together(*calls: Awaitable[list[Appended]]) -> list[Any]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def streams(log: MemoryEventLog) -> list[tuple[int, str, str]]:
    return [(e.position, e.stream, e.actor) for e in await log.read_after(0, 1000, 1000)]


def refuse_stream(stream: str) -> Any:
    def rule(rows: Sequence[Row]) -> BaseException | None:
        bad = any(r["stream"] == stream for r in rows)
        return Refused(f"a row of {stream} violates a constraint") if bad else None

    return rule


async def test_batches_that_wait_together_go_in_one_group(groups: list[int]) -> None:
    log = MemoryEventLog()
    writer = GroupCommit(log)
    await writer.append([pending("ProjectCreated", project_id="P", name="P")], "setup")
    first, refused, third = await together(
        writer.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "a"),
        writer.append(
            [role("Q", 0), pending("TaskCreated", 1, task_id="X", project_id="ghost", name="X")],
            "b",
        ),
        writer.append([role("R")], "c"),
    )
    assert groups == [1, 3]
    assert isinstance(refused, RuleViolation) and refused.event_index == 1
    assert [(a.position, a.stream) for a in first + third] == [(2, "project-P"), (3, "role-R")]
    assert await streams(log) == [
        (1, "project-P", "setup"),
        (2, "project-P", "a"),
        (3, "role-R", "c"),
    ]
    assert "Q" not in writer.model.roles and writer.model.position == 3


async def test_a_refusal_of_the_log_is_tried_again_one_by_one(groups: list[int]) -> None:
    log = MemoryEventLog()
    log.fail_if(refuse_stream("role-bad"))
    writer = GroupCommit(log)
    one, bad, three = await together(
        writer.append([role("a")], "a"),
        writer.append([role("bad")], "b"),
        writer.append([role("c")], "c"),
    )
    assert groups == [3, 1, 1, 1]  # the group, then each alone
    assert isinstance(bad, Refused)
    assert [a.position for a in one + three] == [1, 2]
    assert await streams(log) == [(1, "role-a", "a"), (2, "role-c", "c")]
    assert writer.model.roles == {"a", "c"} and writer.model.position == 2
    assert log.discarded == 2  # after the group, after the culprit


async def test_an_unknown_outcome_fails_the_whole_group_and_is_not_retried(
    groups: list[int],
) -> None:
    log = MemoryEventLog()
    writer = GroupCommit(log)
    await writer.append([role("first")], "setup")
    log.fail_next(ConnectionError("connection lost"))
    one, two = await together(writer.append([role("a")], "a"), writer.append([role("b")], "b"))
    assert isinstance(one, ConnectionError) and isinstance(two, ConnectionError)
    assert groups == [1, 2]
    assert writer.model.roles == {"first"} and writer.model.position == 1
    # nothing of theirs went in; the next append goes on from the log as it is
    assert [a.position for a in await writer.append([role("c")], "c")] == [2]
    assert await streams(log) == [(1, "role-first", "setup"), (2, "role-c", "c")]


async def test_another_writer_moved_the_head(groups: list[int]) -> None:
    log = MemoryEventLog()
    mine, theirs = GroupCommit(log), GroupCommit(log.handle())
    await theirs.append([role("r")], "them")
    # mine has not seen role r: it catches up under the lock, then decides
    out = await mine.append(
        [pending("UserDefined", user_id="u", name="U", primary_role_id="r")], "me"
    )
    assert [(a.position, a.stream) for a in out] == [(2, "user-u")]
    assert groups == [1, 1, 1]  # theirs; mine in one step (head moved), then locked
    refused = await together(mine.append([role("r")], "me"))
    assert isinstance(refused[0], RuleViolation) and refused[0].code == "duplicate_id"


async def test_a_repeated_batch_answers_its_first_places(groups: list[int]) -> None:
    log = MemoryEventLog()
    writer = GroupCommit(log)
    ids = [uuid.uuid4(), uuid.uuid4()]
    first = await writer.append([role("a", 0, ids[0]), role("b", 1, ids[1])], "a")
    again = await writer.append([role("a", 0, ids[0]), role("b", 1, ids[1])], "a")
    assert [(a.position, a.duplicate) for a in again] == [(p.position, True) for p in first]
    assert [p for p, *_ in await streams(log)] == [1, 2]
    conflict = await together(
        writer.append([pending("JobRoleDefined", 0, ids[0], role_id="a", name="x")], "a")
    )
    assert isinstance(conflict[0], RuleViolation) and conflict[0].code == "event_id_conflict"


async def test_groups_stop_at_the_cap(groups: list[int]) -> None:
    writer = GroupCommit(MemoryEventLog(), max_group_events=4)
    batches = [[role(f"r{b}-{i}", i) for i in range(3)] for b in range(4)]
    out = await together(*(writer.append(batch, "a") for batch in batches))
    assert groups == [1, 1, 1, 1]
    assert [a.position for answer in out for a in answer] == list(range(1, 13))


async def test_the_log_is_given_back_when_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commits, "IDLE_RELEASE_SECONDS", 0.05)
    log = MemoryEventLog()
    writer = GroupCommit(log)
    await writer.append([role("a")], "a")
    assert log.released == 0
    await asyncio.sleep(0.2)
    assert log.released == 1
    await writer.append([role("b")], "b")  # work again: held, then given back again
    await asyncio.sleep(0.2)
    assert log.released == 2


async def test_load_catches_the_model_up_with_the_log() -> None:
    log = MemoryEventLog()
    await GroupCommit(log).append([role("a"), role("b", 1)], "a")
    fresh = GroupCommit(log.handle())
    await fresh.load()
    assert fresh.model.position == 2 and fresh.model.roles == {"a", "b"}
