"""The load of a chaos run: 16 clients posting valid batches with event ids of their
own, alternating between the two ledgers, retrying what got no answer (or a 503)
with the SAME event ids, and keeping the fate of every batch."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.org import Org, money
from bench.workload import body, event_id, hours_logged

JSON = {"content-type": "application/json"}
REQUEST_TIMEOUT = 10.0


@dataclass(slots=True)
class Batch:
    event_ids: list[str]
    body: bytes
    hour_ids: list[str]
    state: str = "pending"  # acked | refused | unknown
    positions: list[int] = field(default_factory=list)
    attempts: int = 0
    refusal: str = ""


@dataclass
class Tallies:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0
    duplicate_answers: int = 0  # retries of an applied batch, answered 200 duplicate
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503
    acks: list[float] = field(default_factory=list)  # monotonic time of each acknowledgement

    def ack_after(self, moment: float) -> float | None:
        later = [t for t in self.acks if t >= moment]
        return min(later) - moment if later else None


class Load:
    def __init__(
        self, ledgers: list[str], token: str, org: Org, seed: int, clients: int = 16
    ) -> None:
        self.ledgers = ledgers
        self.org = org
        self.seed = seed
        self.clients = clients
        self.http = httpx.AsyncClient(
            headers={"authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            timeout=httpx.Timeout(REQUEST_TIMEOUT),
        )
        self.batches: list[Batch] = []
        self.seen = Tallies()
        self.stop_new = asyncio.Event()  # no new batches after this
        self.give_up_at = float("inf")  # retries end here: the rest is "unknown"

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, path: str, content: bytes, turn: int) -> tuple[int, bytes] | None:
        """One attempt on ledger `turn % 2`; None when no answer came."""
        url = self.ledgers[turn % len(self.ledgers)] + path
        try:
            response = await self.http.post(url, content=content, headers=JSON)
        except httpx.HTTPError:
            self.seen.no_answer += 1
            return None
        status = response.status_code
        self.seen.statuses[status] += 1
        if status >= 500 and status != 503:
            self.seen.server_errors.append(f"{status} {path}: {response.text[:200]}")
        return status, response.content

    async def send(self, batch: Batch, turn: int) -> None:
        """Until acknowledged, refused, or the run gives up (then: unknown)."""
        delay = 0.1
        while time.monotonic() < self.give_up_at:
            batch.attempts += 1
            answer = await self.post("/v1/events", batch.body, turn)
            turn += 1
            if answer is not None:
                status, payload = answer
                if status in (200, 201):
                    events = orjson.loads(payload)["events"]
                    if [e["event_id"] for e in events] != batch.event_ids:
                        batch.refusal = f"acknowledged other event ids: {payload[:200]!r}"
                    batch.positions = [int(e["position"]) for e in events]
                    batch.state = "acked"
                    if batch.attempts > 1 and status == 200:
                        self.seen.duplicate_answers += 1
                    self.seen.acks.append(time.monotonic())
                    return
                if status < 500:
                    batch.state, batch.refusal = "refused", f"{status} {payload[:200]!r}"
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        batch.state = "unknown"

    def make_batch(self, rng: random.Random, client: int, serial: int, mine: list[str]) -> Batch:
        """1 to 6 events: HoursLogged mostly, some HoursEdited (of this client's
        acknowledged hours), ExpenseRecorded and TaskUpdated."""
        envelopes: list[dict[str, Any]] = []
        hour_ids: list[str] = []
        edited: set[str] = set()
        for i in range(rng.randint(1, 6)):
            project = rng.choice(self.org.projects)
            roll = rng.random()
            ref = f"c{client:02d}-{serial:06d}-{i}"
            if roll < 0.12 and mine and (hour := rng.choice(mine)) not in edited:
                edited.add(hour)
                data: dict[str, Any] = {
                    "hour_id": hour,
                    "hours": f"{rng.randint(25, 800) / 100:.2f}",
                }
                envelopes.append({"type": "HoursEdited", "data": data})
            elif roll < 0.2:
                data = {
                    "expense_id": f"{project.project_id}-e{ref}",
                    "project_id": project.project_id,
                    "task_id": rng.choice(project.tasks).task_id,
                    "expense_type": "travel",
                    "planned_amount": money(rng, 10, 500),
                    "actual_amount": money(rng, 10, 500),
                    "billable": rng.random() < 0.5,
                }
                envelopes.append({"type": "ExpenseRecorded", "data": data})
            elif roll < 0.26:
                data = {
                    "task_id": rng.choice(project.tasks).task_id,
                    "planned_hours": str(rng.randint(8, 160)),
                }
                envelopes.append({"type": "TaskUpdated", "data": data})
            else:
                ev = hours_logged(rng, project, f"{project.project_id}-h{ref}")
                hour_ids.append(ev.data["hour_id"])
                envelopes.append({"type": ev.type, "data": ev.data})
        for env in envelopes:
            env["event_id"] = event_id(rng)
        return Batch([e["event_id"] for e in envelopes], body(envelopes), hour_ids)

    async def client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        mine: list[str] = []  # hour ids this client saw acknowledged
        serial = 0
        while not self.stop_new.is_set():
            serial += 1
            batch = self.make_batch(rng, index, serial, mine)
            self.batches.append(batch)
            await self.send(batch, turn=index + serial)
            if batch.state == "acked":
                mine.extend(batch.hour_ids)
                del mine[:-200]
            await asyncio.sleep(rng.uniform(0.1, 0.4))

    async def run(self) -> None:
        await asyncio.gather(*(self.client(i) for i in range(self.clients)))

    async def recalculate_all(self, request_id: str, turn: int, patience: float) -> list[int]:
        """`POST /v1/recalculations` of every project, retried with the same event_id."""
        content = orjson.dumps(
            {
                "project_ids": [p.project_id for p in self.org.projects],
                "scope": "all",
                "event_id": request_id,
            }
        )
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            answer = await self.post("/v1/recalculations", content, turn)
            turn += 1
            if answer is not None and answer[0] == 202:
                self.seen.acks.append(time.monotonic())
                return [int(p) for p in orjson.loads(answer[1])["positions"]]
            if answer is not None and answer[0] < 500:
                raise RuntimeError(f"recalculations refused: {answer[0]} {answer[1][:200]!r}")
            await asyncio.sleep(0.5)
        return []
