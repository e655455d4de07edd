"""A database that is frozen, down or starting answers 503 `database_unavailable`
within about 2 s (TALLY_DB_* time-outs), never a hang nor a 500; and once it is back
the log has no partial batch.

Each test runs a PostgreSQL server of its own (never the shared one: it is frozen)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from http_kit import ALL, event, settings_for, tally_app

from shared.infra.embedded import SCRATCH_SETTINGS, EmbeddedPostgres
from shared.infra.migrate import upgrade_async

pytestmark = pytest.mark.integration

LIMIT = 2.5  # seconds a request may take while the database does not answer

SETUP = [
    event("JobRoleDefined", role_id="R", name="Consultant"),
    event("UserDefined", user_id="U", name="U", primary_role_id="R"),
    event("ProjectCreated", project_id="P", name="P"),
    event("TaskCreated", task_id="T", project_id="P", name="T"),
]


class OwnServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tally-outage-pg-"))
        self.pg = EmbeddedPostgres(self.root / "pg", "tally", settings=SCRATCH_SETTINGS)
        self.url = ""

    def start(self) -> None:
        self.url = self.pg.start()

    def stop(self) -> None:
        self.pg.stop()

    def close(self) -> None:
        """Stop, and remove the data (kept by `stop`: the tests start it again)."""
        try:
            self.pg.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def processes(self) -> list[psutil.Process]:
        pid = int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the postmaster and every backend; SIGCONT them however this ends."""
        stopped: list[psutil.Process] = []
        try:
            for proc in self.processes():
                proc.suspend()
                stopped.append(proc)
            yield
        finally:
            for proc in stopped:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.resume()


@pytest.fixture
async def server() -> AsyncIterator[OwnServer]:
    own = OwnServer()
    try:
        await asyncio.to_thread(own.start)
        await upgrade_async(own.url)
        yield own
    finally:
        await asyncio.to_thread(own.close)


@contextlib.asynccontextmanager
async def client_for(url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = tally_app(settings_for(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def timed(call: Any) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    resp = await call
    return resp, time.monotonic() - start


def unavailable(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"] == "application/json"
    err: dict[str, Any] = resp.json()["error"]
    assert err["code"] == "database_unavailable"
    return err


async def the_log(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await client.get("/v1/events", params={"limit": 1000}, headers=ALL)
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()["events"]
    return events


async def test_a_frozen_database_is_a_503_within_the_time_outs(server: OwnServer) -> None:
    async with client_for(server.url) as client:
        resp = await client.post("/v1/events", json={"events": SETUP}, headers=ALL)
        assert resp.status_code == 201, resp.text
        assert (await client.get("/v1/projects/P/finances", headers=ALL)).status_code == 404
        ids = [str(uuid.uuid4()) for _ in range(3)]
        batch = [
            event("HoursLogged", ids[i], hour_id=f"H{i}", owner_id="U", task_id="T",
                  entry_date="2023-06-19", hours=1)
            for i in range(3)
        ]  # fmt: skip
        with server.frozen():
            resp, took = await timed(client.post("/v1/events", json={"events": batch}, headers=ALL))
            err = unavailable(resp)
            assert took < LIMIT, took
            assert "same event_id" in err["message"]  # sent, then no answer: unknown
            resp, took = await timed(client.get("/v1/projects/P/finances", headers=ALL))
            unavailable(resp)
            assert took < LIMIT, took
            resp, took = await timed(client.get("/v1/events", headers=ALL))
            unavailable(resp)
            assert took < LIMIT, took
            resp, took = await timed(client.get("/readyz"))
            assert took < LIMIT, took
            assert resp.status_code == 503
            body = resp.json()
            assert body["status"] == "unavailable" and body["reason"] == "database_timeout"
            assert "(" not in resp.text  # no repr
        # back: the retry of the same batch is appended, or answered as a duplicate
        resp = await client.post("/v1/events", json={"events": batch}, headers=ALL)
        assert resp.status_code in (200, 201), resp.text
        log = await the_log(client)
        assert [e["position"] for e in log] == list(range(1, len(log) + 1))  # gap-free
        assert [e["event_id"] for e in log[4:]] == ids  # the batch once, whole
        assert (await client.get("/readyz")).status_code == 200


async def test_a_stopped_database_is_a_503_not_a_500(server: OwnServer) -> None:
    async with client_for(server.url) as client:
        resp = await client.post("/v1/events", json={"events": SETUP}, headers=ALL)
        assert resp.status_code == 201, resp.text
        await asyncio.to_thread(server.stop)
        try:
            eid = str(uuid.uuid4())
            hour = event("HoursLogged", eid, hour_id="H", owner_id="U", task_id="T",
                         entry_date="2023-06-19", hours=1)  # fmt: skip
            for call in (
                client.post("/v1/events", json={"events": [hour]}, headers=ALL),
                client.get("/v1/projects/P/finances", headers=ALL),
                client.get("/v1/projects/P/hours", params={"min_position": 4}, headers=ALL),
                client.get("/v1/projects/P/finances", params={"as_of": 4}, headers=ALL),
                client.get("/v1/billing-records/B", headers=ALL),
                client.get("/v1/events", headers=ALL),
                client.post("/v1/projects/P/recalculate", json={}, headers=ALL),
            ):
                resp, took = await timed(call)
                unavailable(resp)
                assert took < LIMIT, took
            resp = await client.get("/readyz")
            assert resp.status_code == 503
            assert resp.json() == {"status": "unavailable", "reason": "database_unreachable"}
        finally:
            await asyncio.to_thread(server.start)
        resp = await client.post("/v1/events", json={"events": [hour]}, headers=ALL)
        assert resp.status_code == 201, resp.text
        assert [e["position"] for e in await the_log(client)] == [1, 2, 3, 4, 5]
