"""The event store against the real PostgreSQL: positions, idempotency, undo."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from ledger_store_kit import engine_of, pending
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ledger.bootstrap import group_commit
from services.ledger.domain.errors import RuleViolation
from services.ledger.service_layer.group_commit import GroupCommit
from shared.infra.db import plain_dsn, raw
from shared.infra.eventlog import head, read_after

pytestmark = pytest.mark.integration


async def log_of(engine: AsyncEngine) -> list[tuple[int, str, str, int]]:
    async with engine.connect() as conn:
        events = await read_after(await raw(conn), 0, 10_000)
    return [(e.position, e.type, e.stream, e.version) for e in events]


async def test_append_assigns_positions_streams_versions(store: GroupCommit) -> None:
    out = await store.append(
        [
            pending("ProjectCreated", project_id="P", name="P"),
            pending("TaskCreated", 1, project_id="P", task_id="T", name="T"),
            pending("JobRoleDefined", 2, role_id="R", name="R"),
        ],
        "alice",
    )
    assert [(a.position, a.stream, a.version) for a in out] == [
        (1, "project-P", 1),
        (2, "project-P", 2),
        (3, "role-R", 1),
    ]
    async with engine_of(store).connect() as conn:
        events = await read_after(await raw(conn), 0, 10)
    assert [e.actor for e in events] == ["alice"] * 3
    # only the provided fields are stored (updates rely on it)
    assert events[1].data.provided() == {"task_id", "project_id", "name"}
    assert store.model.position == 3


async def test_duplicates_answer_the_original_and_conflicts_are_refused(
    store: GroupCommit,
) -> None:
    eid = uuid.uuid4()
    first = await store.append(
        [pending("ProjectCreated", event_id=eid, project_id="P", name="P")], "a"
    )
    again = await store.append(
        [pending("ProjectCreated", event_id=eid, project_id="P", name="P")], "a"
    )
    assert again[0].duplicate and again[0].position == first[0].position == 1
    with pytest.raises(RuleViolation) as info:
        await store.append(
            [pending("ProjectCreated", event_id=eid, project_id="P", name="other")], "a"
        )
    assert info.value.code == "event_id_conflict"
    assert await log_of(engine_of(store)) == [(1, "ProjectCreated", "project-P", 1)]


async def test_same_id_twice_in_one_batch(store: GroupCommit) -> None:
    eid = uuid.uuid4()
    out = await store.append(
        [
            pending("ProjectCreated", 0, eid, project_id="P", name="P"),
            pending("ProjectCreated", 1, eid, project_id="P", name="P"),
        ],
        "a",
    )
    assert [(a.position, a.duplicate) for a in out] == [(1, False), (1, True)]
    other = uuid.uuid4()
    with pytest.raises(RuleViolation) as info:
        await store.append(
            [
                pending("ProjectCreated", 0, other, project_id="Q", name="Q"),
                pending("ProjectCreated", 1, other, project_id="Z", name="Z"),
            ],
            "a",
        )
    assert (info.value.code, info.value.event_index) == ("event_id_conflict", 1)
    assert len(await log_of(engine_of(store))) == 1
    assert "Q" not in store.model.projects


async def test_a_refused_batch_appends_nothing(store: GroupCommit) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    with pytest.raises(RuleViolation) as info:
        await store.append(
            [
                pending("ProjectCreated", 0, project_id="Q", name="Q"),
                pending("TaskCreated", 1, task_id="T", project_id="ghost", name="T"),
            ],
            "a",
        )
    assert (info.value.code, info.value.event_index) == ("unknown_project", 1)
    assert "Q" not in store.model.projects and store.model.versions == {"project-P": 1}
    assert len(await log_of(engine_of(store))) == 1


async def test_model_is_restored_when_the_transaction_fails(
    store: GroupCommit, fresh_database_url: str
) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    # sabotage: a row squatting on the next (stream, version) makes the insert fail
    # after the model applied the batch
    conn = await asyncpg.connect(plain_dsn(fresh_database_url))
    try:
        await conn.execute(
            "INSERT INTO events VALUES (100, $1, 'project-Q', 1, 'ProjectCreated', 1,"
            ' \'{"project_id": "Q", "name": "Q"}\', now(), \'x\')',
            uuid.uuid4(),
        )
    finally:
        await conn.close()
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.append(
            [
                pending("JobRoleDefined", 0, role_id="R", name="R"),
                pending("ProjectCreated", 1, project_id="Q", name="Q"),
            ],
            "a",
        )
    assert "Q" not in store.model.projects and "R" not in store.model.roles
    assert store.model.position == 1 and "role-R" not in store.model.versions


async def test_another_process_appends_are_caught_up(fresh_engine: AsyncEngine) -> None:
    one, two = group_commit(fresh_engine), group_commit(fresh_engine)
    await one.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    # `two` never saw P, but validates against it under the lock
    out = await two.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "b")
    assert (out[0].position, out[0].version) == (2, 2)
    with pytest.raises(RuleViolation) as info:
        await one.append([pending("TaskCreated", task_id="T", project_id="P", name="T")], "a")
    assert info.value.code == "duplicate_id"
    await one.close()
    await two.close()


async def test_the_log_is_append_only(store: GroupCommit, fresh_database_url: str) -> None:
    await store.append([pending("ProjectCreated", project_id="P", name="P")], "a")
    conn = await asyncpg.connect(plain_dsn(fresh_database_url))
    try:
        for sql in (
            "UPDATE events SET actor = 'mallory'",
            "DELETE FROM events",
            "TRUNCATE events",
        ):
            with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT count(*) FROM events WHERE actor = 'a'") == 1
    finally:
        await conn.close()


async def test_concurrent_writers_and_a_tailing_reader(fresh_engine: AsyncEngine) -> None:
    """Positions are gap-free and become visible in commit order: a reader tailing with
    `read_after(last_seen)` sees each exactly once, in order, none ever below one seen."""
    writers, batches, per_batch = 8, 50, 3
    stores = [group_commit(fresh_engine) for _ in range(3)]  # three "ledger processes"
    done = asyncio.Event()
    seen: list[int] = []

    async def write(w: int) -> None:
        s = stores[w % len(stores)]
        for b in range(batches):
            await s.append(
                [
                    pending("JobRoleDefined", i, role_id=f"r{w}-{b}-{i}", name="x")
                    for i in range(per_batch)
                ],
                f"w{w}",
            )

    async def tail() -> None:
        async with fresh_engine.connect() as conn:
            pg = await raw(conn)
            last = 0
            while True:
                finished = done.is_set()
                for e in await read_after(pg, last, 1000):
                    assert e.position > last, "a position below one already seen"
                    seen.append(e.position)
                    last = e.position
                if finished:
                    return
                await asyncio.sleep(0)

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await reader
    for s in stores:
        await s.close()
    total = writers * batches * per_batch
    assert seen == list(range(1, total + 1))
    async with fresh_engine.connect() as conn:
        assert await head(await raw(conn)) == total
