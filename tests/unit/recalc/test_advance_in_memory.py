"""The advancer's guarantees, on the in-memory projection (no server): one transaction
per step, redelivery harmless, caches dropped on failure and after a swap, task moves
advancing both projects, catch-ups in steps, and tables loaded ahead taken only while
they are what is stored."""

from __future__ import annotations

from decimal import Decimal

import pytest
from recalc_memory import post, sent, stored
from recalc_scenarios import e1, e9_before_recalc, hours, ids, move, recalc, rid

from services.recalc.adapters.memory_projections import MemoryProjections
from services.recalc.domain.project_lines import sums_of
from services.recalc.service_layer.advance import Advancer
from services.recalc.service_layer.ports import Writes
from shared.events import FinancesRecalculated, ProjectCreated

D = Decimal


async def test_e1_is_stored_and_sent() -> None:
    memory = MemoryProjections()
    i = ids()
    events = post(memory, e1(i))
    assert await Advancer(memory).advance([i.project], events[-1].position) == {i.project}
    ((applied, totals, *_),) = (await stored(memory, [i.project])).values()
    assert applied == events[-1].position
    assert totals.planned_revenue == D("60.00") and totals.actual_revenue == D("45.00")  # E1
    assert sent(memory)[-1] == (i.project, events[-1].position, "ProjectFinancesChanged")


async def test_e9_e10_recalculations_and_redelivery() -> None:
    memory = MemoryProjections()
    plain, billed = ids(), ids()
    events = post(
        memory, e9_before_recalc(plain, billed=False) + e9_before_recalc(billed, billed=True)
    )
    advancer = Advancer(memory)
    await advancer.advance([plain.project, billed.project], events[-1].position)
    more = post(memory, [recalc(plain), recalc(billed)])
    await advancer.advance([plain.project, billed.project], more[-1].position)
    after = await stored(memory, [plain.project, billed.project])
    assert after[plain.project][1].actual_revenue == D("900.00")  # E9
    assert after[billed.project][1].actual_revenue == D("650.00")  # E10
    recalcs = {o.project_id: o for o in memory.outbox if isinstance(o, FinancesRecalculated)}
    assert recalcs[billed.project].hours_locked == 1
    messages = len(memory.outbox)
    # redelivered, and a cold worker: nothing moves, nothing is sent again
    await advancer.advance([plain.project, billed.project], more[-1].position)
    await Advancer(memory).advance([plain.project, billed.project], more[-1].position)
    assert len(memory.outbox) == messages
    assert await stored(memory, [plain.project, billed.project]) == after


async def test_a_failed_write_drops_the_caches_and_the_next_try_is_whole() -> None:
    memory = MemoryProjections()
    i = ids()
    events = post(memory, e9_before_recalc(i, billed=True))
    advancer = Advancer(memory)
    await advancer.advance([i.project], events[-1].position)
    (again,) = post(memory, [recalc(i)])
    memory.fail_next_write(ConnectionError("lost"))
    with pytest.raises(ConnectionError):
        await advancer.advance([i.project], again.position)
    assert i.project not in advancer.cache and i.project not in advancer.book.projects
    assert (await stored(memory, [i.project]))[i.project][0] == events[-1].position
    await advancer.advance([i.project], again.position)

    fresh = MemoryProjections()
    fresh.log = list(memory.log)
    await Advancer(fresh).advance([i.project], again.position)
    assert await stored(memory, [i.project]) == await stored(fresh, [i.project])


async def test_a_move_advances_both_projects() -> None:
    memory = MemoryProjections()
    i = ids()
    target = rid("p")
    events = post(memory, [*e1(i), ProjectCreated(project_id=target, name="Q"), move(i, target)])
    advanced = await Advancer(memory).advance([i.project], events[-1].position)
    assert advanced == {i.project, target}
    after = await stored(memory, [i.project, target])
    assert after[i.project][1].actual_revenue == D("0.00")
    assert after[target][1].actual_revenue == D("45.00")  # the hours went with the task


async def test_a_catch_up_in_steps_stores_what_one_step_does() -> None:
    memory, whole = MemoryProjections(), MemoryProjections()
    a, b = ids(), ids()
    items = [*e9_before_recalc(a, billed=True), *e1(b), recalc(a), hours(rid("h"), a, "3")]
    items += [recalc(a), hours(rid("h"), b, "1")]
    events = post(memory, items)
    whole.log = list(memory.log)
    upto = events[-1].position
    stepped = Advancer(memory, max_events=3, cache_weight=1)  # small: loads are exercised
    reached: list[int] = []
    once = stepped._transaction_once

    async def counted(group: list[str], upto: int) -> tuple[set[str], int]:
        done, position = await once(group, upto)
        reached.append(position)
        return done, position

    stepped._transaction_once = counted  # type: ignore[method-assign]
    assert await stepped.advance([a.project, b.project], upto) == {a.project, b.project}
    assert len(reached) > 2 and reached[-1] == upto
    await Advancer(whole).advance([a.project, b.project], upto)
    assert await stored(memory, [a.project, b.project]) == await stored(
        whole, [a.project, b.project]
    )


async def test_a_swap_drops_what_was_cached() -> None:
    memory, rebuilt = MemoryProjections(), MemoryProjections()
    i = ids()
    events = post(memory, e1(i))
    rebuilt.log = memory.log
    advancer = Advancer(memory)
    await advancer.advance([i.project], events[-2].position)
    await Advancer(rebuilt).advance([i.project], events[-2].position)
    async with rebuilt.transaction() as txn:  # the rebuild differs from what is cached
        (project,) = (await txn.load([i.project], light=True)).values()
        project.state.info.name = "Rebuilt"
        assert project.totals is not None
        own = sums_of(project.state.task_actuals(None))
        await txn.write(
            Writes(projects=[(project.state.info, project.applied, project.totals, own)])
        )
    memory.swap(rebuilt)
    await advancer.advance([i.project], events[-1].position)
    ((applied, totals, info, *_),) = (await stored(memory, [i.project])).values()
    assert (applied, totals.actual_revenue) == (events[-1].position, D("45.00"))
    assert info.name == "Rebuilt"  # read from the new projection, not from the cache


class _Counting(MemoryProjections):
    """Counts the tables loaded by transactions that write (not by snapshots)."""

    loads = 0

    def transaction(self):  # type: ignore[no-untyped-def]
        outer = super().transaction()
        owner = self

        class _Wrapped:
            async def __aenter__(self):  # type: ignore[no-untyped-def]
                txn = await outer.__aenter__()
                load_tables = txn.load_tables

                async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
                    owner.loads += 1
                    return await load_tables(*args, **kwargs)

                txn.load_tables = counted  # type: ignore[method-assign]
                return txn

            async def __aexit__(self, *exc):  # type: ignore[no-untyped-def]
                return await outer.__aexit__(*exc)

        return _Wrapped()


async def test_a_table_loaded_ahead_is_taken_only_while_it_is_what_is_stored() -> None:
    memory = _Counting()
    i = ids()
    events = post(memory, e9_before_recalc(i, billed=False))
    advancer = Advancer(memory)
    await advancer.advance([i.project], events[-1].position)
    (first,) = post(memory, [recalc(i)])
    advancer.load_ahead([i.project])
    await advancer.advance([i.project], first.position)
    assert memory.loads == 0  # taken
    # loaded ahead, then the project moves on (an entry stored): loaded again
    advancer.load_ahead([i.project])
    assert advancer._ahead_task is not None
    await advancer._ahead_task
    (late,) = post(memory, [hours(rid("h"), i, "4")])
    await advancer.advance([i.project], late.position)
    (again,) = post(memory, [recalc(i)])
    await advancer.advance([i.project], again.position)
    assert memory.loads == 1
    ((_, totals, *_),) = (await stored(memory, [i.project])).values()
    assert totals.actual_revenue == D("1200.00")  # 16 h at 75
