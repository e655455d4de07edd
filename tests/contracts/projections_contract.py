"""The contract of recalc's `Projections` port (services/recalc/service_layer/ports.py).

One suite, two implementations: `tests/unit/recalc/test_memory_projections.py` runs it
in memory, `tests/integration/recalc/test_pg_projections.py` on PostgreSQL. A subclass
provides the `world` fixture: a port on an empty log and projection, a way to append
to its log, and a reader of its finance outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest
from recalc_scenarios import Item, e1, e9_before_recalc, hours, ids, recalc, rid

from services.recalc.domain.project_lines import sums_of
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.ports import Projections, Writes
from shared.events import (
    JobRoleDefined,
    ProjectCreated,
    RecordedEvent,
    TaskCreated,
    TaskMoved,
    UserDefined,
)

D = Decimal


@dataclass
class World:
    projections: Projections
    append: Callable[[Sequence[Item]], Awaitable[list[RecordedEvent]]]
    #: the finance outbox: (project id, position, type) of each message, in order
    outbox: Callable[[], Awaitable[list[tuple[str, int, str]]]]


class ProjectionsContract:
    # -- the log ----------------------------------------------------------------------

    async def test_events_to_apply_cuts_each_project_at_its_own_position(
        self, world: World
    ) -> None:
        a, b = rid("p"), rid("p")
        task = rid("t")
        events = await world.append(
            [
                ProjectCreated(project_id=a, name="A"),  # 1
                ProjectCreated(project_id=b, name="B"),  # 2
                TaskCreated(task_id=task, project_id=a, name="T"),  # 3
                UserDefined(user_id=rid("u"), name="U"),  # 4: no project's
                (TaskMoved(task_id=task, to_project_id=b), a),  # 5: into b
                (TaskCreated(task_id=rid("t"), project_id=b, name="T2"), b),  # 6
            ]
        )
        at = [e.position for e in events]
        async with world.projections.transaction() as txn:
            got = await txn.events_to_apply({a: at[0], b: at[1]}, at[-1])
            assert [e.position for e in got] == [at[2], at[4], at[5]]
            got = await txn.events_to_apply({b: at[4]}, at[-1])
            assert [e.position for e in got] == [at[5]]
            got = await txn.events_to_apply({a: 0, b: 0}, at[4])  # upto
            assert [e.position for e in got] == [at[0], at[1], at[2], at[4]]
            got = await txn.events_to_apply({a: 0, b: 0}, at[-1], 2)  # the first ones
            assert [e.position for e in got] == [at[0], at[1]]
            assert await txn.events_to_apply({}, at[-1]) == []

    async def test_reference_events_are_the_reference_types_in_range(self, world: World) -> None:
        events = await world.append(
            [
                JobRoleDefined(role_id=rid("r"), name="R"),
                ProjectCreated(project_id=rid("p"), name="P"),
                UserDefined(user_id=rid("u"), name="U"),
                UserDefined(user_id=rid("u"), name="V"),
            ]
        )
        at = [e.position for e in events]
        async with world.projections.transaction() as txn:
            got = await txn.reference_events(at[0] - 1, 10, at[-1])
            assert [e.position for e in got] == [at[0], at[2], at[3]]
            got = await txn.reference_events(at[0], 10, at[2])
            assert [e.position for e in got] == [at[2]]
            got = await txn.reference_events(at[0] - 1, 2, at[-1])
            assert [e.position for e in got] == [at[0], at[2]]

    # -- what is written is what is read ----------------------------------------------

    async def test_a_project_reads_back_as_written(self, world: World) -> None:
        i = ids()
        events = await world.append(e1(i))
        await Advancer(world.projections).advance([i.project], events[-1].position)
        (hour_id,) = [e.data.hour_id for e in events if e.type == "HoursLogged"]  # type: ignore[attr-defined]
        async with world.projections.transaction() as txn:
            assert await txn.applied_positions([i.project, "nobody"]) == {
                i.project: events[-1].position
            }
            whole = (await txn.load([i.project]))[i.project]
            light = (await txn.load([i.project], light=True))[i.project]
            named = await txn.load_hours([i.project], [hour_id])
            by_task = await txn.load_hours([i.project], task_ids=[i.task])
            every = await txn.load_hours([i.project])
            tables, refused = await txn.load_tables([i.project], {i.project: [hour_id]})
        assert whole.applied == light.applied == events[-1].position
        assert whole.totals is not None and whole.totals.actual_revenue == D("45.00")  # E1
        assert whole.totals == light.totals
        (hour,) = whole.state.hours.values()
        assert (hour.hour_id, hour.revenue, hour.billing_rate) == (hour_id, D("45.00"), D("30"))
        assert hour.billing_rate_source == "user"
        assert light.state.hours == {} and not light.state.hours_complete
        # a light state's sums are complete all the same
        assert sums_of(light.state.task_actuals(i.task)) == (1, D("1.5"), D("0"), D("45.00"))
        assert light.task_sums == whole.task_sums
        assert light.task_views == whole.task_views
        assert [h.hour_id for h in named[i.project]] == [hour_id]
        assert by_task == every == named
        assert refused == []
        table = tables[i.project]
        assert len(table) == 1 and table.prices.revenue.tolist() == [4500]
        assert table.seq_of == {hour_id: int(table.seq[0])}
        assert await txn_load_nothing(world)

    async def test_a_load_is_a_copy(self, world: World) -> None:
        i = ids()
        events = await world.append(e1(i))
        await Advancer(world.projections).advance([i.project], events[-1].position)
        async with world.projections.transaction() as txn:
            first = (await txn.load([i.project]))[i.project]
            (hour,) = first.state.hours.values()
            hour.revenue = D("1.00")
            first.state.info.name = "changed"
            again = (await txn.load([i.project]))[i.project]
        (hour,) = again.state.hours.values()
        assert hour.revenue == D("45.00") and again.state.info.name == "P"

    @pytest.mark.parametrize("billed", [False, True])
    async def test_a_recalculation_reads_back_priced_at_its_position(
        self, world: World, billed: bool
    ) -> None:
        """E9/E10: 10 h at 50 and 2 h at 75; a recalculation prices both at 75 but an
        entry on a billed record keeps its revenue (R7.3). Every entry it priced reads as
        priced at its position (the project's `hours_priced_at` where no row changed)."""
        i = ids()
        events = await world.append(e9_before_recalc(i, billed=billed))
        advancer = Advancer(world.projections)
        await advancer.advance([i.project], events[-1].position)
        (again,) = await world.append([recalc(i)])
        await advancer.advance([i.project], again.position)
        async with world.projections.transaction() as txn:
            stored = (await txn.load([i.project]))[i.project]
            tables, _ = await txn.load_tables([i.project], {})
        revenue = sorted((h.hours, h.revenue, h.priced_at) for h in stored.state.hours.values())
        first = D("500.00") if billed else D("750.00")
        assert revenue == [
            (D("2"), D("150.00"), again.position),
            (D("10"), first, again.position),
        ]
        assert sorted(tables[i.project].prices.revenue.tolist()) == sorted(
            int(r * 100) for _, r, _ in revenue
        )
        assert tables[i.project].priced_at.tolist() == [again.position] * 2

    async def test_a_moved_task_leaves_its_source(self, world: World) -> None:
        i = ids()
        target = rid("p")
        events = await world.append(
            [
                *e1(i),
                ProjectCreated(project_id=target, name="Q"),
                (TaskMoved(task_id=i.task, to_project_id=target), i.project),
            ]
        )
        await Advancer(world.projections).advance([i.project], events[-1].position)
        async with world.projections.transaction() as txn:
            loaded = await txn.load([i.project, target])
            moved = await txn.load_hours([i.project, target])
        assert loaded[i.project].state.tasks == {}
        assert list(loaded[target].state.tasks) == [i.task]
        assert list(moved) == [target]

    # -- transactions -----------------------------------------------------------------

    async def test_a_failed_transaction_leaves_nothing(self, world: World) -> None:
        i = ids()
        events = await world.append(e1(i))
        await Advancer(world.projections).advance([i.project], events[-1].position)
        before = await world.outbox()
        with pytest.raises(_Boom):
            async with world.projections.transaction() as txn:
                stored = (await txn.load([i.project], light=True))[i.project]
                state = stored.state
                state.info.name = "renamed"
                assert stored.totals is not None
                own = sums_of(state.task_actuals(None))
                await txn.write(Writes(projects=[(state.info, 10**9, stored.totals, own)]))
                raise _Boom
        async with world.projections.transaction() as txn:
            assert await txn.applied_positions([i.project]) == {i.project: events[-1].position}
            assert (await txn.load([i.project]))[i.project].state.info.name == "P"
        assert await world.outbox() == before

    async def test_outcomes_are_appended_in_order(self, world: World) -> None:
        i = ids()
        events = await world.append(e1(i))
        await Advancer(world.projections).advance([i.project], events[-1].position)
        (more,) = await world.append([hours(rid("h"), i, "2")])
        await Advancer(world.projections).advance([i.project], more.position)
        sent = await world.outbox()
        assert sent[-1] == (i.project, more.position, "ProjectFinancesChanged")
        positions = [p for _, p, _ in sent]
        assert positions == sorted(positions) and events[-1].position in positions

    async def test_a_lock_is_held_until_the_transaction_ends(self, world: World) -> None:
        project = rid("p")
        second_locked = asyncio.Event()

        async def second() -> None:
            async with world.projections.transaction() as txn:
                await txn.lock([project])
                second_locked.set()

        async with world.projections.transaction() as txn:
            await txn.lock([project])
            other = asyncio.create_task(second())
            await asyncio.sleep(0.2)
            assert not second_locked.is_set()
        await asyncio.wait_for(other, 5)
        assert second_locked.is_set()

    async def test_a_snapshot_sees_one_moment(self, world: World) -> None:
        i = ids()
        events = await world.append(e1(i))
        advancer = Advancer(world.projections)
        await advancer.advance([i.project], events[-2].position)
        async with world.projections.snapshot() as snap:
            seen = await snap.applied_positions([i.project])
            await advancer.advance([i.project], events[-1].position)  # commits meanwhile
            assert await snap.applied_positions([i.project]) == seen
            tables, _ = await snap.load_tables([i.project], {})
            assert len(tables[i.project]) == 0  # the entry came after
        async with world.projections.snapshot() as snap:
            assert await snap.applied_positions([i.project]) == {i.project: events[-1].position}

    async def test_the_generation_stays_between_transactions(self, world: World) -> None:
        async with world.projections.transaction() as txn:
            first = await txn.fence_swap()
            assert await txn.generation() == first
        async with world.projections.snapshot() as snap:
            assert await snap.generation() == first


class _Boom(Exception):
    pass


async def txn_load_nothing(world: World) -> bool:
    """A project never written loads as nothing."""
    async with world.projections.transaction() as txn:
        return (
            await txn.load(["nobody"]) == {}
            and await txn.applied_positions(["nobody"]) == {}
            and await txn.load_hours(["nobody"]) == {}
        )
