"""One chaos run: servers up, reference data, load and faults, catch up, checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx

from bench.org import Org, build_org
from bench.sizes import SMOKE
from bench.workload import setup_batches
from chaos.checks import Check, Figures, run_checks
from chaos.faults import Faults
from chaos.load import Load
from chaos.system import ChaosSystem

# Reference data: a few dozen projects with tasks, users with rates.
SIZE = replace(SMOKE, name="chaos", roles=6, users=40, companies=3, projects=36, side_projects=0)
CATCH_UP_PATIENCE = 180.0
SETTLE = 60.0  # how long retries go on after the load stops (no faults by then)


@dataclass
class Result:
    minutes: float
    seed: int
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    faults: Faults | None = None
    load: Load | None = None
    catch_up: float | None = None
    events_per_second: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


async def post_reference_data(system: ChaosSystem, org: Org) -> int:
    """The organisation, phase by phase; returns the log's head after it."""
    async with httpx.AsyncClient(
        headers={"authorization": f"Bearer {system.token}", "content-type": "application/json"},
        timeout=60,
    ) as http:
        for phase in setup_batches(org, 200):
            for content in phase:
                response = await http.post(
                    f"{system.ledgers[0].base_url}/v1/events", content=content
                )
                if response.status_code != 201:
                    raise RuntimeError(f"setup refused: {response.status_code} {response.text}")
    return await system.head()


async def chaos(minutes: float, seed: int, talk: Callable[[str], None] = print) -> Result:
    result = Result(minutes, seed)
    system = ChaosSystem()
    load: Load | None = None
    try:
        await system.start(talk)
        org = build_org(SIZE, seed)
        head = await post_reference_data(system, org)

        async def settled() -> bool:
            return await system.lagging_projects(head) == 0

        if await system.wait_until(settled, 120) is None:
            raise RuntimeError("the workers did not price the reference data in 120 s")
        talk(f"chaos: {len(org.projects)} projects set up (log head {head}); load and faults")

        load = Load([p.base_url for p in system.ledgers], system.token, org, seed)
        faults = Faults(system, load, seed, minutes)
        result.load, result.faults = load, faults
        start = time.monotonic()
        deadline = start + minutes * 60
        faults.t0 = load_t0 = start
        clients = asyncio.create_task(load.run())
        await faults.run(deadline, talk)
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        load.stop_new.set()
        load.give_up_at = time.monotonic() + SETTLE
        await clients
        result.seconds = time.monotonic() - load_t0
        faults.exits.extend(system.watch_exits())
        acked = sum(len(b.event_ids) for b in load.batches if b.state == "acked")
        result.events_per_second = acked / result.seconds
        talk(f"chaos: load stopped after {result.seconds:.0f}s; waiting for the system")
        result.catch_up = await catch_up(system)
        talk(f"chaos: caught up in {result.catch_up}s; checking")
        result.checks, result.figures = await run_checks(system, load, faults.exits)
    finally:
        if load is not None:
            await load.close()
        await system.stop(keep_logs=not result.ok)
        if not result.ok:
            talk(f"chaos: logs kept in {system.log_dir}")
    return result


async def catch_up(system: ChaosSystem) -> float | None:
    """Seconds until the relays published the whole log and outbox and every project's
    projection includes the head; None after CATCH_UP_PATIENCE."""
    start = time.monotonic()

    async def all_done() -> bool:
        head = await system.head()
        if await system.lagging_projects(head):
            return False
        conn = await system.connect()
        try:
            seq = int(await conn.fetchval("SELECT seq FROM finance_head"))
        finally:
            await conn.close()
        relayed = await system.relayed()
        return relayed.get("ledger", 0) >= head and relayed.get("finance", 0) >= seq

    if await system.wait_until(all_done, CATCH_UP_PATIENCE) is None:
        return None
    return round(time.monotonic() - start, 1)
