"""The load generator, driving Tally only through its public HTTP API (api.md):
lean keep-alive lanes (`bench.wire`) for the load loops, httpx for the rest."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.wire import Lane, WireError

JSON = {"content-type": "application/json"}
OPEN_LANES = 64  # connections for open-loop load


@dataclass(slots=True)
class Outcome:
    """What a run of requests did: appended events, failures, the highest position."""

    events: int = 0
    failed_requests: int = 0
    first_error: str = ""
    last_position: int = 0
    latencies: list[float] = field(default_factory=list)

    def fail(self, error: str) -> None:
        self.failed_requests += 1
        if not self.first_error:
            self.first_error = error


def _client(token: str, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(120.0),
    )


class TallyClient:
    """`lanes`: one lean keep-alive connection per simulated client, for the load
    loops; `http`: a pooled httpx client for open-loop load and the rest."""

    def __init__(self, ledger_url: str, reads_url: str, token: str, lanes: int) -> None:
        self.ledger_url = ledger_url
        self.reads_url = reads_url
        self.http = _client(token, 64)
        self.lanes = [Lane(ledger_url, token) for _ in range(lanes)]
        # open-loop load: lean connections taken from a pool, one request at a time each
        self._token = token
        self._pool: asyncio.Queue[Lane] | None = None
        self._pooled: list[Lane] = []

    async def close(self) -> None:
        await self.http.aclose()
        for lane in [*self.lanes, *self._pooled]:
            await lane.close()

    async def _fresh_lanes(self) -> None:
        """Start a load loop on new connections: idle ones may have been closed by the
        server's keep-alive timeout meanwhile, and the first request would fail."""
        for lane in self.lanes:
            await lane.close()

    async def post_open(self, body: bytes, outcome: Outcome) -> list[int]:
        """`post_events` for open-loop load: on a free pooled lane (waiting for one is
        part of the latency, as it would be for a real client)."""
        if self._pool is None:
            self._pool = asyncio.Queue()
            self._pooled = [Lane(self.ledger_url, self._token) for _ in range(OPEN_LANES)]
            for lane in self._pooled:
                self._pool.put_nowait(lane)
        lane = await self._pool.get()
        try:
            return await self.post_events(body, outcome, lane)
        finally:
            self._pool.put_nowait(lane)

    async def post_events(
        self, body: bytes, outcome: Outcome, via: Lane | None = None
    ) -> list[int]:
        """Post one batch body; returns the positions appended (empty on failure)."""
        try:
            if via is None:
                response = await self.http.post(
                    f"{self.ledger_url}/v1/events", content=body, headers=JSON
                )
                status, payload = response.status_code, response.content
            else:
                status, payload = await via.request("POST", "/v1/events", body)
        except (httpx.HTTPError, WireError) as exc:
            outcome.fail(f"{type(exc).__name__}: {exc}")
            return []
        if status not in (200, 201):
            outcome.fail(f"HTTP {status}: {payload[:200].decode(errors='replace')}")
            return []
        positions = [int(e["position"]) for e in orjson.loads(payload)["events"]]
        outcome.events += len(positions)
        if positions:
            outcome.last_position = max(outcome.last_position, max(positions))
        return positions

    async def post_all(self, bodies: list[bytes], concurrency: int) -> tuple[Outcome, float]:
        """Post every body with `concurrency` requests in flight; (outcome, seconds)."""
        await self._fresh_lanes()
        outcome = Outcome()
        queue = iter(bodies)

        async def worker(via: Lane) -> None:
            for item in queue:  # one shared iterator: each body is taken once
                await self.post_events(item, outcome, via)

        start = time.perf_counter()
        await asyncio.gather(*(worker(self.lanes[i % len(self.lanes)]) for i in range(concurrency)))
        return outcome, time.perf_counter() - start

    async def post_singles(
        self, envelopes: list[dict[str, Any]], clients: int, seconds: float
    ) -> tuple[Outcome, float]:
        """`clients` concurrent clients, one event a request, each waiting for its answer,
        until every envelope is posted or `seconds` have passed."""
        await self._fresh_lanes()
        outcome = Outcome()
        deadline = time.perf_counter() + seconds

        async def client(mine: list[dict[str, Any]], via: Lane) -> None:
            for env in mine:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                if await self.post_events(orjson.dumps({"events": [env]}), outcome, via):
                    outcome.latencies.append(time.perf_counter() - t0)

        lanes = self.lanes
        start = time.perf_counter()
        await asyncio.gather(
            *(client(envelopes[i::clients], lanes[i % len(lanes)]) for i in range(clients))
        )
        return outcome, time.perf_counter() - start

    async def ceiling(self, count: int, clients: int) -> float:
        """Requests/s of `GET /healthz` from `clients` clients: what this load generator
        reaches against a route that does nothing, to read the ingest figures by."""

        async def client(n: int, via: Lane) -> None:
            for _ in range(n):
                await via.request("GET", "/healthz")

        await self._fresh_lanes()
        lanes = self.lanes
        start = time.perf_counter()
        await asyncio.gather(
            *(client(count // clients, lanes[i % len(lanes)]) for i in range(clients))
        )
        return (count // clients * clients) / (time.perf_counter() - start)

    async def recalculate(self, project_id: str) -> int:
        response = await self.http.post(
            f"{self.ledger_url}/v1/projects/{project_id}/recalculate",
            content=orjson.dumps({"scope": "all"}),
            headers=JSON,
        )
        if response.status_code != 202:
            raise RuntimeError(f"recalculate: HTTP {response.status_code}: {response.text[:200]}")
        return int(response.json()["position"])

    async def recalculate_many(self, project_ids: list[str]) -> list[int]:
        response = await self.http.post(
            f"{self.ledger_url}/v1/recalculations",
            content=orjson.dumps({"project_ids": project_ids, "scope": "all"}),
            headers=JSON,
        )
        if response.status_code != 202:
            raise RuntimeError(
                f"recalculations: HTTP {response.status_code}: {response.text[:200]}"
            )
        return [int(p) for p in response.json()["positions"]]

    async def read_timed(self, path: str, params: dict[str, int]) -> tuple[float, bytes]:
        """Seconds until the whole answer of `GET {reads_url}{path}` has arrived (body
        read, not decoded), and the body; raises on any status but 200."""
        start = time.perf_counter()
        response = await self.http.get(f"{self.reads_url}{path}", params=params)
        seconds = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.text[:200]}")
        return seconds, response.content

    async def all_caught_up(self, project_ids: list[str], position: int, patience: float) -> bool:
        """Every project's reads include `position`: the worker has no backlog left
        (one project caught up says nothing of the others)."""
        queue = iter(project_ids)
        deadline = time.monotonic() + patience
        results: list[bool] = []

        async def check() -> None:
            for project_id in queue:  # one shared iterator: each project is asked once
                left = max(0.1, deadline - time.monotonic())
                results.append(await self.caught_up(project_id, position, left))

        await asyncio.gather(*(check() for _ in range(8)))
        return all(results)

    async def caught_up(self, project_id: str, position: int, patience: float) -> bool:
        """Wait until the reads include `position` (api.md, read-your-writes)."""
        deadline = time.monotonic() + patience
        url = f"{self.reads_url}/v1/projects/{project_id}/finances"
        while time.monotonic() < deadline:
            wait_ms = int(max(100, min(5000, (deadline - time.monotonic()) * 1000)))
            try:
                response = await self.http.get(
                    url, params={"min_position": position, "wait_ms": wait_ms}
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 200:
                return True
            if response.status_code != 409:
                await asyncio.sleep(0.2)
        return False
