"""`tally replay` in parallel shards: projects linked by moves share a shard, and the
rebuild in two spawned processes equals the live projection the worker built."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import asyncpg
import pytest
from audit_kit import AuditLog
from test_replay_synth import append, build

from services.cli.replay import run
from services.recalc.bootstrap import projections
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.replay import Replayer
from services.recalc.service_layer.replay_shard import deal
from shared.infra.db import create_engine, plain_dsn

pytestmark = pytest.mark.integration

PROJECTS = 12


def test_moves_keep_their_projects_in_one_shard() -> None:
    counts = {"project-a": 10, "project-b": 1, "project-c": 5, "project-d": 4, "project-e": 0}
    moves = [("project-a", "project-e"), ("project-e", "project-b")]
    shards = deal(counts, moves, 2)
    assert sorted(shards) == [("project-a", "project-b", "project-e"), ("project-c", "project-d")]
    assert deal(counts, [], 1) == [tuple(sorted(counts))]
    # every stream dealt once, heaviest group first to the lightest shard
    assert sorted(s for shard in deal(counts, [], 3) for s in shard) == sorted(counts)
    assert deal(counts, [], 3)[0] == ("project-a",)


@pytest.fixture
async def synthetic(fresh_database_url: str) -> AsyncIterator[tuple[str, int]]:
    """A log with moves and recalculations, and a live projection the worker built."""
    log = build(PROJECTS, 1500, seed=3, tasks=4, moves=0.01)
    assert any(row[4] == "TaskMoved" for row in log.rows)
    dsn = plain_dsn(fresh_database_url)
    conn = await asyncpg.connect(dsn)
    try:
        head = await append(conn, log)
    finally:
        await conn.close()
    engine = create_engine(fresh_database_url, pool_size=2)
    try:
        await Advancer(projections(engine)).advance([f"p{i}" for i in range(PROJECTS)], head)
    finally:
        await engine.dispose()
    yield fresh_database_url, head


async def test_parallel_rebuild_equals_the_live_projection(
    synthetic: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    url, head = synthetic
    args = argparse.Namespace(swap=False, batch=400, jobs=2, wait=0.0, max_lines=5)
    assert await run(url, args) == 0
    out = capsys.readouterr().out
    assert f"replayed {head} events up to position {head}" in out
    assert f"{PROJECTS} projects written" in out
    assert "no difference" in out


async def test_parallel_rebuild_sees_a_corrupted_moved_line(synthetic: tuple[str, int]) -> None:
    url, _ = synthetic
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        # a task that moved: its hours were priced by the target project (R6.3)
        moved = await conn.fetchval(
            "SELECT data->>'task_id' FROM events WHERE type = 'TaskMoved' ORDER BY position LIMIT 1"
        )
        hour, project = (
            await conn.fetchrow(
                "SELECT hour_id, project_id FROM projection.hours WHERE task_id = $1 LIMIT 1",
                moved,
            )
        ) or (None, None)
        if hour is None:
            pytest.skip("the first moved task has no hours in this log")
        await conn.execute("UPDATE projection.hours SET cost = cost + 1 WHERE hour_id = $1", hour)
        replayer = Replayer(batch=300, jobs=2, dsn=plain_dsn(url))
        await replayer.rebuild(conn)
        report = await replayer.compare(conn, wait_seconds=0)
    finally:
        await conn.close()
    assert list(report.differences) == [project]
    (difference,) = report.differences[project]
    assert (difference.table, difference.key, list(difference.columns)) == ("hours", hour, ["cost"])


async def test_swap_catches_up_what_was_appended_after_the_rebuild(
    audit_log: AuditLog, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await asyncpg.connect(plain_dsn(audit_log.url))
    try:
        replayer = Replayer(batch=5)
        await replayer.rebuild(conn)
        rebuilt_at = replayer.position
        # the live worker applies these; the rebuild has not seen them
        await audit_log.append(
            [
                ("HoursEdited", {"hour_id": "h2", "hours": "5"}),
                ("TaskMoved", {"task_id": "t3", "to_project_id": "p2"}),
            ]
        )
        outbox = await conn.fetchval("SELECT count(*) FROM finance_outbox")
        await replayer.swap(conn)
        assert replayer.position == audit_log.positions[-1] > rebuilt_at
        # the live workers had published them: nothing is published twice
        assert await conn.fetchval("SELECT count(*) FROM finance_outbox") == outbox
        assert (
            await conn.fetchval("SELECT project_id FROM projection.hours WHERE hour_id = 'h3'")
            == "p2"
        )
    finally:
        await conn.close()
    capsys.readouterr()
    args = argparse.Namespace(swap=False, batch=7, jobs=2, wait=0.0, max_lines=5)
    assert await run(audit_log.url, args) == 0
    assert "no difference" in capsys.readouterr().out
