"""A thin HTTP client for the e2e tests: post events, read finances back with
`min_position` (read-your-writes), nothing else. Every call goes over HTTP."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

Event = dict[str, Any]


class Tally:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last = 0  # the last position this client saw appended

    # -- writes -------------------------------------------------------------------
    async def post(self, *events: Event) -> list[int]:
        """Append `events` as one batch; the positions, in order."""
        answer = await self.http.post("/v1/events", json={"events": list(events)})
        assert answer.status_code == 201, answer.text
        positions = [int(e["position"]) for e in answer.json()["events"]]
        self.last = max([self.last, *positions])
        return positions

    async def refused(self, *events: Event) -> tuple[int, dict[str, Any]]:
        """Post a batch that must be refused; the status and the error body. The log
        must not have grown (R9: refused events are never appended)."""
        head = await self.head()
        answer = await self.http.post("/v1/events", json={"events": list(events)})
        assert answer.status_code >= 400, answer.text
        assert await self.head() == head, "a refused batch changed the log"
        return answer.status_code, answer.json()["error"]

    async def head(self) -> int:
        """The position of the last event in the log (GET /v1/events, paged)."""
        after = self.last
        while True:
            page = await self.http.get("/v1/events", params={"after": after, "limit": 1000})
            assert page.status_code == 200, page.text
            body = page.json()
            if not body["events"]:
                return after
            after = int(body["next_after"])

    async def recalculate(self, project_id: str, scope: str = "all") -> int:
        answer = await self.http.post(
            f"/v1/projects/{project_id}/recalculate",
            json={"scope": scope},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code == 202, answer.text
        position = int(answer.json()["position"])
        self.last = max(self.last, position)
        return position

    # -- reads (each waits until the projection includes the last post) ------------
    async def _get(self, path: str, at: int | None) -> dict[str, Any]:
        params = {"min_position": self.last if at is None else at, "wait_ms": 20_000}
        answer = await self.http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def finances(self, project_id: str, at: int | None = None) -> dict[str, Any]:
        return await self._get(f"/v1/projects/{project_id}/finances", at)

    async def tasks(self, project_id: str, at: int | None = None) -> dict[str, dict[str, Any]]:
        body = await self._get(f"/v1/projects/{project_id}/tasks", at)
        return {t["task_id"]: t for t in body["tasks"]}

    async def hours(self, project_id: str, at: int | None = None) -> dict[str, dict[str, Any]]:
        body = await self._get(f"/v1/projects/{project_id}/hours", at)
        return {h["hour_id"]: h for h in body["hours"]}

    async def record(self, record_id: str, at: int | None = None) -> dict[str, Any]:
        return await self._get(f"/v1/billing-records/{record_id}", at)


def money(value: str | Decimal) -> str:
    """A decimal written the way the API writes money: two places."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def pick(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """Only the named fields (to compare several at once, with a readable diff)."""
    return {name: body[name] for name in names}
