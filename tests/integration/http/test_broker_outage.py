"""With the broker down, appends keep succeeding and reads answer from PostgreSQL;
once it is back (empty: the test broker keeps nothing), the relay republishes and the
worker catches up, and the finances include what was appended meanwhile."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from http_kit import ALL, event, served, settings_for

from services.cli.dev import build_app
from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration


def hours(hour_id: str, amount: str) -> dict[str, object]:
    return event(
        "HoursLogged",
        hour_id=hour_id,
        owner_id="ana",
        task_id="t1",
        entry_date="2023-06-19",
        hours=amount,
    )


SETUP = [
    event("JobRoleDefined", role_id="consultant", name="Consultant"),
    event("UserDefined", user_id="ana", name="Ana", primary_role_id="consultant"),
    event(
        "RatesSet",
        level="user",
        rate_type="billing",
        user_id="ana",
        periods=[{"value": "30.00"}],
    ),
    event("ProjectCreated", project_id="p1", name="Pilot"),
    event(
        "TaskCreated",
        task_id="t1",
        project_id="p1",
        name="Build",
        planned_hours="2",
        assignments=[{"user_id": "ana"}],
    ),
    hours("h1", "1.5"),
]


async def test_appends_and_reads_go_on_without_the_broker(
    fresh_database_url: str, fresh_broker: EmbeddedBroker
) -> None:
    settings = settings_for(
        fresh_database_url,
        kafka_bootstrap=fresh_broker.bootstrap,
        ledger_topic=f"ledger-{uuid.uuid4().hex[:6]}",
        finance_topic=f"finance-{uuid.uuid4().hex[:6]}",
        consumer_group=f"g-{uuid.uuid4().hex[:6]}",
        topic_partitions=3,
    )
    async with (
        served(build_app(settings), settings) as base,
        httpx.AsyncClient(base_url=base, headers=ALL, timeout=30) as client,
    ):
        r = await client.post("/v1/events", json={"events": SETUP})
        assert r.status_code == 201, r.text
        last = r.json()["events"][-1]["position"]
        r = await client.get(f"/v1/projects/p1/finances?min_position={last}&wait_ms=30000")
        assert r.status_code == 200, r.text
        assert r.json()["actual_revenue"] == "45.00"  # E1

        fresh_broker.stop()
        started = time.monotonic()
        r = await client.post("/v1/events", json={"events": [hours("h2", "2")]})
        assert r.status_code == 201, r.text
        assert time.monotonic() - started < 2.0
        during = r.json()["events"][0]["position"]
        r = await client.get(f"/v1/events?after={last}")
        assert r.status_code == 200 and r.json()["events"][0]["position"] == during
        r = await client.get("/v1/projects/p1/finances")  # as far as it is priced
        assert r.status_code == 200, r.text
        assert r.json()["actual_revenue"] == "45.00"
        assert (await client.get("/readyz")).status_code == 200

        await asyncio.sleep(1.0)  # the relay and the worker meet a broker that is gone
        fresh_broker.start()  # empty: the relay finds out and publishes again
        r = await client.get(f"/v1/projects/p1/finances?min_position={during}&wait_ms=60000")
        assert r.status_code == 200, r.text
        assert r.json()["actual_revenue"] == "105.00"
