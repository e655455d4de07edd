"""events_to_apply: each project read from its own applied position (a project far
behind does not make the others' applied events come back), moves into a project
included, in position order."""

from __future__ import annotations

import pytest
from recalc_logkit import LogWriter
from recalc_scenarios import e1, hours, ids, move, rid
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.adapters.log_reads import events_to_apply
from shared.events import ProjectCreated
from shared.infra.db import raw

pytestmark = pytest.mark.integration


async def test_each_project_from_its_own_position(
    recalc_engine: AsyncEngine, log_writer: LogWriter
) -> None:
    a, b = ids(), ids()
    target = rid("p")
    first = await log_writer.append([*e1(a), *e1(b), ProjectCreated(project_id=target, name="Q")])
    later = await log_writer.append(
        [hours(rid("h"), a, "1"), hours(rid("h"), b, "2"), move(a, target)]
    )
    upto = later[-1].position
    a_done = later[0].position  # a is applied up to its new entry; b and target are behind
    applied = {a.project: a_done, b.project: 0, target: 0}
    async with recalc_engine.connect() as sa_conn:
        got = await events_to_apply(await raw(sa_conn), applied, upto)
    streams = {f"project-{b.project}", f"project-{target}"}
    expected = [e.position for e in [*first, *later] if e.stream in streams]
    expected.append(later[-1].position)  # the move, on a's stream after a_done
    assert [e.position for e in got] == sorted(expected)
