"""What the ledger cannot carry is a clear 4xx over HTTP, never a 201 that breaks
pricing later nor a 500 (README "Input limits")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from ledger_http_kit import ALL, env, ledger_client

pytestmark = pytest.mark.integration

SETUP = [
    env("JobRoleDefined", role_id="R", name="Consultant"),
    env("ProjectCreated", project_id="P", name="P"),
]
OK = env("CompanyDefined", company_id="C", name="C")


@pytest.fixture
async def client(fresh_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with ledger_client(fresh_database_url) as c:
        resp = await c.post("/v1/events", json={"events": SETUP}, headers=ALL)
        assert resp.status_code == 201, resp.text
        yield c


async def log_size(client: httpx.AsyncClient) -> int:
    resp = await client.get("/v1/events", params={"limit": 1000}, headers=ALL)
    assert resp.status_code == 200, resp.text
    return len(resp.json()["events"])


def error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err: dict[str, Any] = resp.json()["error"]
    return err


async def post_raw(
    client: httpx.AsyncClient, body: bytes, content_type: str | None = "application/json"
) -> httpx.Response:
    headers = dict(ALL)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return await client.post("/v1/events", content=body, headers=headers)


def task(**data: Any) -> dict[str, Any]:
    return env("TaskCreated", task_id="T", project_id="P", name="T", **data)


def rates(value: Any, **period: Any) -> dict[str, Any]:
    return env(
        "RatesSet",
        level="role",
        rate_type="billing",
        role_id="R",
        periods=[{"value": value, **period}],
    )


HOUR = {"hour_id": "H", "owner_id": "U", "project_id": "P", "hours": "1"}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (env("ProjectCreated", project_id="Q", name="Q", budget="1" + "0" * 27), "data.budget"),
        (env("ProjectCreated", project_id="Q", name="Q", budget="1e999"), "data.budget"),
        (env("ProjectCreated", project_id="Q", name="Q", budget="9" * 60), "data.budget"),
        (env("ProjectUpdated", project_id="P", fixed_cost="1_000"), "data.fixed_cost"),
        (env("ProjectUpdated", project_id="P", fixed_revenue=" 5 "), "data.fixed_revenue"),
        (rates("9" * 28), "data.periods[0].value"),
        (rates("1", start_date="2023-01-01", end_date="2200-01-01"), "data.periods[0].end_date"),
        (task(planned_completion="9999-12-31"), "data.planned_completion"),
        (task(planned_hours="10000000.5"), "data.planned_hours"),
        (env("HoursLogged", **HOUR, entry_date=0), "data.entry_date"),
        (env("HoursLogged", **HOUR, entry_date="1687132800"), "data.entry_date"),
        (env("JobRoleDefined", role_id="S", name="x" * 1001), "data.name"),
        (env("JobRoleDefined", role_id="S", name="a\u0000b"), "data.name"),
        (env("JobRoleDefined", role_id="S", name="ok", **{"a\u0000b": "x"}), "data.a\\u0000b"),
    ],
)
async def test_what_pricing_or_the_database_cannot_carry_is_422(
    client: httpx.AsyncClient, event: dict[str, Any], field: str
) -> None:
    resp = await client.post("/v1/events", json={"events": [OK, event]}, headers=ALL)
    err = error(resp, 422)
    assert (err["code"], err["event_index"], err["field"]) == ("invalid_field", 1, field)
    assert len(err["message"]) < 400
    assert await log_size(client) == len(SETUP)


async def test_the_largest_values_are_appended(client: httpx.AsyncClient) -> None:
    batch = [
        env("ProjectCreated", project_id="Q", name="é" * 1000, budget="999999999999.9999"),
        rates("999999999999.9999", start_date="1900-01-01", end_date="2199-12-31"),
        task(planned_hours="10000000", planned_start="1900-01-01", planned_completion="2199-12-31"),
    ]
    resp = await client.post("/v1/events", json={"events": batch}, headers=ALL)
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [{"type": "JobRoleDefined", "data": {"role_id": "S", "name": "\\ud800"}}]}',
        b'{"events": [], "events": []}',
        b'{"events": [{"type": "JobRoleDefined",'
        b' "data": {"role_id": "S", "name": "a", "name": "b"}}]}',
        b'{"events": [' + b"[" * 600 + b"]" * 600 + b"]}",
    ],
)
async def test_lone_surrogates_repeated_keys_and_deep_nesting_are_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    assert error(await post_raw(client, body), 400)["code"] == "malformed_json"
    assert await log_size(client) == len(SETUP)


async def test_a_body_declared_as_something_else_than_json_is_415(
    client: httpx.AsyncClient,
) -> None:
    body = orjson.dumps({"events": [OK]})
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "text/json"):
        err = error(await post_raw(client, body, content_type), 415)
        assert err["code"] == "unsupported_media_type"
        recalc = {"Content-Type": content_type, **ALL}
        for path, payload in (
            ("/v1/projects/P/recalculate", b"{}"),
            ("/v1/recalculations", b'{"project_ids": ["P"]}'),
        ):
            resp = await client.post(path, content=payload, headers=recalc)
            assert error(resp, 415)["code"] == "unsupported_media_type"
    assert await log_size(client) == len(SETUP)
    # JSON with any charset, a +json type, or no Content-Type at all: read as JSON
    for i, content_type in enumerate(
        ("application/json; charset=utf-8", "application/vnd.tally+json", None)
    ):
        event = env("CompanyDefined", company_id=f"C{i}", name="C")
        resp = await post_raw(client, orjson.dumps({"events": [event]}), content_type)
        assert resp.status_code == 201, resp.text
    resp = await client.post(
        "/v1/projects/P/recalculate",
        content=b"",
        headers={"Content-Type": "application/json", **ALL},
    )
    assert resp.status_code == 202, resp.text


async def test_a_huge_bad_value_is_quoted_short(client: httpx.AsyncClient) -> None:
    long = "x" * 100_000
    for event in (
        env(long),
        {**OK, long: 1},
        {**OK, "event_id": long},
        env("ProjectCreated", project_id="Q", name="Q", budget=long),
        env("JobRoleDefined", role_id="S", name=long),
    ):
        resp = await client.post("/v1/events", json={"events": [event]}, headers=ALL)
        assert resp.status_code == 422, resp.text[:300]
        assert len(resp.content) < 1000, resp.text[:300]
