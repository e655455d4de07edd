"""The faults, one at a time at seeded intervals, and how long Tally took to recover
from each: the first acknowledged write after the fault ended, and the time until
every project's projection included the log's head as it stood then."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chaos.load import Load
from chaos.system import ChaosSystem, Proc

KINDS = (
    "kill relay",
    "kill recalc",
    "kill ledger",
    "broker restart (empty)",
    "pause PostgreSQL",
    "bulk recalculation",
)
RECOVERY_PATIENCE = 120.0


@dataclass(slots=True)
class Fault:
    kind: str
    target: str
    start: float  # seconds since the load began
    duration: float = 0.0  # how long the fault lasted (a kill: until the restart was ready)
    first_ack: float | None = None  # seconds from its end to the next acknowledged write
    caught_up: float | None = None  # seconds from its end until projections had the head
    note: str = ""


class Faults:
    def __init__(self, system: ChaosSystem, load: Load, seed: int, minutes: float) -> None:
        self.system = system
        self.load = load
        self.rng = random.Random(seed)
        self.minutes = minutes
        self.done: list[Fault] = []
        self.exits: list[str] = []
        self.t0 = time.monotonic()

    def broker_max(self) -> float:
        """Up to 60 s of broker outage in a 10-minute run, scaled down for short ones."""
        return max(5.0, 60.0 * min(1.0, self.minutes / 10.0))

    async def run(self, deadline: float, say: Callable[[str], None]) -> None:
        kinds: list[str] = []
        while time.monotonic() < deadline - 10:
            await asyncio.sleep(self.rng.uniform(3.0, 10.0))
            self.exits.extend(self.system.watch_exits())
            if time.monotonic() >= deadline - 5:
                break
            if not kinds:  # every kind once, in a seeded order, then again
                kinds = list(KINDS)
                self.rng.shuffle(kinds)
            fault = await self.inflict(kinds.pop())
            await self.recover(fault)
            self.done.append(fault)
            say(
                f"  {fault.start:6.1f}s {fault.kind} ({fault.target}): {fault.duration:.1f}s;"
                f" first ack +{_s(fault.first_ack)}, caught up +{_s(fault.caught_up)}"
                + (f"; {fault.note}" if fault.note else "")
            )

    async def inflict(self, kind: str) -> Fault:
        system, rng = self.system, self.rng
        start = time.monotonic()
        fault = Fault(kind, "", start - self.t0)
        if kind.startswith("kill"):
            relay = [system.relay] if system.relay else []
            pool: dict[str, list[Proc]] = {
                "kill relay": relay,
                "kill recalc": system.recalcs,
                "kill ledger": system.ledgers,
            }
            proc = rng.choice(pool[kind])
            fault.target = proc.name
            proc.sigkill()
            if not await proc.restart():
                fault.note = f"restart failed: {proc.reason}"
        elif kind.startswith("broker"):
            seconds = rng.uniform(min(3.0, self.broker_max()), self.broker_max())
            fault.target = f"down {seconds:.1f}s"
            system.stop_broker()
            try:
                await asyncio.sleep(seconds)
            finally:
                await system.start_broker()
        elif kind.startswith("pause"):
            seconds = rng.uniform(2.0, 10.0)
            fault.target = f"SIGSTOP {seconds:.1f}s"
            try:
                system.pause_pg()
                await asyncio.sleep(seconds)
            finally:
                system.resume_pg()
        else:
            request = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            positions = await self.load.recalculate_all(request, rng.randrange(2), 60.0)
            fault.target = f"{len(positions)} projects"
            if not positions:
                fault.note = "not accepted within 60 s"
        fault.duration = time.monotonic() - start
        return fault

    async def recover(self, fault: Fault) -> None:
        end = self.t0 + fault.start + fault.duration
        system = self.system
        head: int | None = None
        deadline = time.monotonic() + RECOVERY_PATIENCE
        while head is None and time.monotonic() < deadline:
            try:
                head = await system.head()
            except Exception:  # the database may still be waking up
                await asyncio.sleep(0.2)
        if head is not None:
            target = head

            async def caught_up() -> bool:
                return await system.lagging_projects(target) == 0

            left = max(1.0, deadline - time.monotonic())
            if await system.wait_until(caught_up, left) is not None:
                fault.caught_up = time.monotonic() - end
        while fault.first_ack is None and time.monotonic() < deadline:
            fault.first_ack = self.load.seen.ack_after(end)
            if fault.first_ack is None:
                await asyncio.sleep(0.1)


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"
