"""Group commit: batches that wait together are appended in one transaction, each
keeping its own all-or-nothing answer (api.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any

import asyncpg
import pytest
from ledger_store_kit import engine_of, pending
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.bootstrap import group_commit
from services.ledger.domain.appends import Appended, Pending
from services.ledger.domain.errors import RuleViolation
from services.ledger.service_layer import group_commit as commits
from services.ledger.service_layer.group_commit import GroupCommit
from shared.events import event_class
from shared.infra.db import plain_dsn, raw
from shared.infra.eventlog import read_after

pytestmark = pytest.mark.integration


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each group's transaction decided: one entry a transaction."""
    seen: list[int] = []
    real = commits.decide_group

    def counting(model: Any, group: list[Any], *args: Any) -> Any:
        seen.append(len(group))
        return real(model, group, *args)

    monkeypatch.setattr(commits, "decide_group", counting)
    return seen


async def together(*calls: Awaitable[list[Appended]]) -> list[Any]:
    """Start every append before any is taken, so that they form one group."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def log_of(engine: AsyncEngine) -> list[tuple[int, str, str, int, str]]:
    async with engine.connect() as conn:
        events = await read_after(await raw(conn), 0, 10_000)
    return [(e.position, e.type, e.stream, e.version, e.actor) for e in events]


async def test_a_refused_batch_leaves_no_trace_and_the_others_are_appended(
    store: GroupCommit, groups: list[int]
) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "setup")
    first, refused, third = await together(
        store.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "a"),
        store.append(
            [
                pending("ProjectCreated", 0, project_id="Q", name="Q"),
                pending("JobRoleDefined", 1, role_id="R", name="R"),
                pending("TaskCreated", 2, task_id="X", project_id="ghost", name="X"),
            ],
            "b",
        ),
        store.append([pending("TaskCreated", task_id="U", project_id="P", name="U")], "c"),
    )
    assert groups == [1, 3]  # the setup, then the three together
    assert isinstance(refused, RuleViolation)
    assert (refused.code, refused.event_index) == ("unknown_project", 2)
    # the others go on, positions gap-free after the refused batch
    assert [(a.position, a.stream, a.version) for a in first + third] == [
        (2, "project-P", 2),
        (3, "project-P", 3),
    ]
    assert await log_of(engine_of(store)) == [
        (1, "ProjectCreated", "project-P", 1, "setup"),
        (2, "TaskCreated", "project-P", 2, "a"),
        (3, "TaskCreated", "project-P", 3, "c"),
    ]
    m = store.model
    assert "Q" not in m.projects and "R" not in m.roles and "X" not in m.tasks
    assert m.versions == {"project-P": 3} and m.position == 3
    # the refused batch's work is free again
    out = await store.append([pending("ProjectCreated", project_id="Q", name="Q")], "d")
    assert (out[0].position, out[0].stream, out[0].version) == (4, "project-Q", 1)


async def test_a_later_batch_depends_on_an_earlier_one_of_the_same_group(
    store: GroupCommit, groups: list[int]
) -> None:
    made, used = await together(
        store.append([pending("ProjectCreated", project_id="P", name="P")], "a"),
        store.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "b"),
    )
    assert groups == [2]
    assert [a.position for a in made + used] == [1, 2]


async def test_duplicate_ids_across_batches_of_one_group(
    store: GroupCommit, groups: list[int]
) -> None:
    eid, lost = uuid.uuid4(), uuid.uuid4()
    first, again, clash, refused, reuse = await together(
        store.append([pending("ProjectCreated", 0, eid, project_id="P", name="P")], "a"),
        # the same event again: a duplicate answering the first batch's place
        store.append(
            [
                pending("ProjectCreated", 0, eid, project_id="P", name="P"),
                pending("JobRoleDefined", 1, role_id="R", name="R"),
            ],
            "b",
        ),
        # the same id for another event: a conflict, and nothing of this batch lands
        store.append(
            [
                pending("JobRoleDefined", 0, role_id="S", name="S"),
                pending("ProjectCreated", 1, eid, project_id="P", name="other"),
            ],
            "c",
        ),
        # a refused batch takes its ids back with it...
        store.append(
            [
                pending("JobRoleDefined", 0, lost, role_id="L", name="L"),
                pending("TaskCreated", 1, task_id="X", project_id="ghost", name="X"),
            ],
            "d",
        ),
        # ...so a later batch may use one for another event
        store.append([pending("CompanyDefined", 0, lost, company_id="C", name="C")], "e"),
    )
    assert groups == [5, 5]  # a batch with client ids was refused: asked the log
    assert [(a.position, a.duplicate) for a in first] == [(1, False)]
    assert [(a.event_id, a.position, a.duplicate) for a in again] == [
        (str(eid), 1, True),
        (again[1].event_id, 2, False),
    ]
    assert isinstance(clash, RuleViolation)
    assert (clash.code, clash.event_index) == ("event_id_conflict", 1)
    assert isinstance(refused, RuleViolation) and refused.code == "unknown_project"
    assert [(a.event_id, a.position, a.duplicate) for a in reuse] == [(str(lost), 3, False)]
    assert [(p, t) for p, t, *_ in await log_of(engine_of(store))] == [
        (1, "ProjectCreated"),
        (2, "JobRoleDefined"),
        (3, "CompanyDefined"),
    ]
    assert "S" not in store.model.roles and "L" not in store.model.roles
    # and across groups as before: the log answers
    later = await store.append([pending("ProjectCreated", 0, eid, project_id="P", name="P")], "f")
    assert (later[0].position, later[0].duplicate) == (1, True)
    # (refused as a new project first, then the log was asked: two tries)
    assert groups == [5, 5, 1, 1]


async def test_a_row_the_database_refuses_fails_only_its_own_request(
    store: GroupCommit, fresh_database_url: str, groups: list[int]
) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    # sabotage: a row squatting on (project-Q, 1) makes the group's insert fail after
    # the model applied every batch of it
    conn = await asyncpg.connect(plain_dsn(fresh_database_url))
    try:
        await conn.execute(
            "INSERT INTO events VALUES (100, $1, 'project-Q', 1, 'ProjectCreated', 1,"
            ' \'{"project_id": "Q", "name": "Q"}\', now(), \'x\')',
            uuid.uuid4(),
        )
    finally:
        await conn.close()
    innocent, culprit = await together(
        store.append([pending("JobRoleDefined", role_id="R", name="R")], "b"),
        store.append([pending("ProjectCreated", project_id="Q", name="Q")], "c"),
    )
    # the group failed as a whole, then each request went again alone
    assert groups == [1, 2, 1, 1]
    assert [(a.position, a.stream) for a in innocent] == [(2, "role-R")]
    assert isinstance(culprit, asyncpg.UniqueViolationError)
    m = store.model
    assert "R" in m.roles and "Q" not in m.projects
    assert m.position == 2 and m.versions == {"project-P": 1, "role-R": 1}
    # the store goes on (on a fresh connection)
    out = await store.append([pending("JobRoleDefined", role_id="S", name="S")], "d")
    assert (out[0].position, out[0].stream) == (3, "role-S")


def nul_named(type_name: str, index: int = 0, **data: Any) -> Pending:
    """An event whose data PostgreSQL refuses (U+0000 in a string), past any parsing."""
    return Pending(index, uuid.uuid4(), event_class(type_name).model_construct(**data), False)


async def test_a_nul_in_one_batch_of_a_group_fails_that_batch_alone(
    store: GroupCommit, groups: list[int]
) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "setup")
    first, bad, third, fourth = await together(
        store.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "a"),
        store.append(
            [
                pending("JobRoleDefined", 0, role_id="OK", name="fine"),
                nul_named("JobRoleDefined", 1, role_id="R", name="a\x00b"),
            ],
            "b",
        ),
        store.append([pending("CompanyDefined", company_id="C", name="C")], "c"),
        # depends on the bad batch: refused by the rules when tried alone
        store.append([pending("UserDefined", user_id="U", name="U", primary_role_id="R")], "d"),
    )
    assert groups == [1, 4, 1, 1, 1, 1]
    assert isinstance(bad, asyncpg.UntranslatableCharacterError)
    assert isinstance(fourth, RuleViolation) and fourth.code == "unknown_role"
    assert [(a.position, a.stream) for a in first + third] == [(2, "project-P"), (3, "company-C")]
    assert await log_of(engine_of(store)) == [
        (1, "ProjectCreated", "project-P", 1, "setup"),
        (2, "TaskCreated", "project-P", 2, "a"),
        (3, "CompanyDefined", "company-C", 1, "c"),
    ]
    m = store.model
    assert "OK" not in m.roles and "R" not in m.roles and "U" not in m.users
    assert m.position == 3 and m.versions == {"project-P": 2, "company-C": 1}
    out = await store.append([pending("JobRoleDefined", role_id="R", name="R")], "e")
    assert [(a.position, a.stream) for a in out] == [(4, "role-R")]


async def test_a_lost_connection_fails_the_whole_group_and_is_not_retried(
    store: GroupCommit, groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    real = commits.decide_group  # the fixture's counting wrapper

    def lost(model: Any, group: list[Any], *args: Any) -> Any:
        if len(group) > 1:  # applied to the model, then the connection "goes"
            real(model, group, *args)
            raise asyncpg.exceptions.ConnectionFailureError("connection lost")
        return real(model, group, *args)

    monkeypatch.setattr(commits, "decide_group", lost)
    one, two = await together(
        store.append([pending("JobRoleDefined", role_id="R", name="R")], "b"),
        store.append([pending("CompanyDefined", company_id="C", name="C")], "c"),
    )
    assert isinstance(one, asyncpg.PostgresConnectionError)
    assert isinstance(two, asyncpg.PostgresConnectionError)
    assert groups == [1, 2]  # no request tried again alone
    m = store.model
    assert "R" not in m.roles and "C" not in m.companies
    assert m.position == 1 and m.versions == {"project-P": 1}
    assert [p for p, *_ in await log_of(engine_of(store))] == [1]


async def test_groups_stop_at_the_cap(fresh_engine: AsyncEngine, groups: list[int]) -> None:
    store = group_commit(fresh_engine, max_group_events=4)
    batches = [
        [pending("JobRoleDefined", i, role_id=f"r{b}-{i}", name="x") for i in range(3)]
        for b in range(4)
    ]
    out = await together(*(store.append(batch, "a") for batch in batches))
    await store.close()
    # 3 + 3 would pass the cap of 4: one batch a group (a batch over the cap still goes)
    assert groups == [1, 1, 1, 1]
    assert [a.position for answer in out for a in answer] == list(range(1, 13))


async def test_a_caller_gone_before_its_group_is_left_out(
    store: GroupCommit, groups: list[int]
) -> None:
    kept = asyncio.ensure_future(
        store.append([pending("JobRoleDefined", role_id="A", name="A")], "a")
    )
    gone = asyncio.ensure_future(
        store.append([pending("JobRoleDefined", role_id="B", name="B")], "b")
    )
    await asyncio.sleep(0)  # both queued, the writer not yet run
    gone.cancel()
    out = await kept
    assert gone.cancelled() and [a.position for a in out] == [1]
    assert [(p, s) for p, _, s, *_ in await log_of(engine_of(store))] == [(1, "role-A")]
    assert "B" not in store.model.roles


async def test_a_retried_batch_in_a_group_of_new_ones(
    store: GroupCommit, groups: list[int]
) -> None:
    """The first try does not ask the log about ids; a repeated one sends the group
    round again with the log asked, and only the repeat is a duplicate."""
    eid = uuid.uuid4()
    await store.append([pending("ProjectCreated", 0, eid, project_id="P", name="P")], "a")
    new, retried, clash = await together(
        store.append([pending("JobRoleDefined", role_id="R", name="R")], "b"),
        store.append([pending("ProjectCreated", 0, eid, project_id="P", name="P")], "c"),
        store.append([pending("ProjectCreated", 0, eid, project_id="P", name="Z")], "d"),
    )
    assert groups == [1, 3, 3]
    assert [(a.position, a.duplicate) for a in new] == [(2, False)]
    assert [(a.position, a.duplicate) for a in retried] == [(1, True)]
    assert isinstance(clash, RuleViolation) and clash.code == "event_id_conflict"
    assert [(p, t) for p, t, *_ in await log_of(engine_of(store))] == [
        (1, "ProjectCreated"),
        (2, "JobRoleDefined"),
    ]
    assert store.model.position == 2 and store.model.versions["role-R"] == 1
