"""The in-memory projection (`MemoryProjections`) with the worked examples' items:
append them as the ledger files them, and read what was stored or sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections_contract import World
from recalc_scenarios import Item, stream_of

from services.recalc.adapters.memory_projections import MemoryProjections
from shared.events import RecordedEvent


def post(projections: MemoryProjections, items: Sequence[Item]) -> list[RecordedEvent]:
    out = []
    for item in items:
        data, project = item if isinstance(item, tuple) else (item, None)
        out.append(projections.append(stream_of(data, project), data))
    return out


def sent(projections: MemoryProjections) -> list[tuple[str, int, str]]:
    """(project id, position, type) of each finance message, in order."""
    return [
        (getattr(o, "project_id"), getattr(o, "position"), o.event_type)  # noqa: B009
        for o in projections.outbox
    ]


def memory_world(projections: MemoryProjections) -> World:
    async def append(items: Sequence[Item]) -> list[RecordedEvent]:
        return post(projections, items)

    async def outbox() -> list[tuple[str, int, str]]:
        return sent(projections)

    return World(projections, append, outbox)


async def stored(projections: MemoryProjections, project_ids: Sequence[str]) -> dict[str, Any]:
    """What is stored of each project, to compare two projections by."""
    async with projections.snapshot() as snap:
        loaded = await snap.load(project_ids)
    return {
        p: (
            s.applied,
            s.totals,
            s.state.info,
            sorted((h.hour_id, h) for h in s.state.hours.values()),
            sorted(s.task_views.items()),
            sorted(s.task_sums.items()),
            sorted(s.record_views.items()),
        )
        for p, s in loaded.items()
    }
