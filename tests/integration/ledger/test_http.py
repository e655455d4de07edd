"""The ledger's HTTP contract (api.md) against the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from ledger_http_kit import ALL, env, ledger_client, token

pytestmark = pytest.mark.integration

SETUP = [
    env("JobRoleDefined", role_id="R", name="Consultant"),
    env("UserDefined", user_id="U", name="U", primary_role_id="R"),
    env("ProjectCreated", project_id="P", name="P"),
    env("TaskCreated", task_id="T", project_id="P", name="T"),
]


@pytest.fixture
async def client(fresh_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with ledger_client(fresh_database_url, max_body_bytes=20_000) as c:
        resp = await c.post("/v1/events", json={"events": SETUP}, headers=ALL)
        assert resp.status_code == 201, resp.text
        yield c


async def log(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/v1/events", params={"limit": 1000, **params}, headers=ALL)
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()["events"]
    return events


def error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err: dict[str, Any] = resp.json()["error"]
    return err


async def post(client: httpx.AsyncClient, *events: dict[str, Any], **kw: Any) -> httpx.Response:
    return await client.post(
        "/v1/events", json={"events": list(events)}, headers=kw.pop("headers", ALL), **kw
    )


async def test_201_then_200_for_an_all_duplicate_retry(client: httpx.AsyncClient) -> None:
    eid = str(uuid.uuid4())
    hour = env(
        "HoursLogged",
        eid,
        hour_id="H",
        owner_id="U",
        task_id="T",
        entry_date="2023-06-19",
        hours=1.5,
    )
    first = await post(client, hour)
    assert first.status_code == 201
    assert first.json() == {
        "events": [{"event_id": eid, "position": 5, "stream": "project-P", "version": 3}]
    }
    again = await post(client, hour)
    assert again.status_code == 200
    assert again.json()["events"][0] == {**first.json()["events"][0], "duplicate": True}
    mixed = await post(client, hour, env("HoursDeleted", hour_id="H"))
    assert mixed.status_code == 201
    assert [e.get("duplicate", False) for e in mixed.json()["events"]] == [True, False]
    assert len(await log(client)) == 6


HOUR = {"hour_id": "H", "owner_id": "U", "task_id": "T", "entry_date": "2023-06-19"}
Send = Callable[[httpx.AsyncClient, list[dict[str, Any]]], Awaitable[httpx.Response]]


def sending(*events: dict[str, Any], **kw: Any) -> Send:
    async def send(client: httpx.AsyncClient, _log: list[dict[str, Any]]) -> httpx.Response:
        return await post(client, *events, **kw)

    return send


async def _malformed(client: httpx.AsyncClient, _log: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/v1/events", content=b'{"events": [', headers=ALL)


async def _repeat(client: httpx.AsyncClient, log_: list[dict[str, Any]]) -> httpx.Response:
    return await post(client, {**SETUP[0], "event_id": log_[0]["event_id"]})


async def _conflict(client: httpx.AsyncClient, log_: list[dict[str, Any]]) -> httpx.Response:
    first_id = log_[0]["event_id"]
    return await post(client, env("JobRoleDefined", first_id, role_id="R", name="other"))


#: (request, status, error code, event_index, field); status 200: a duplicate
REFUSALS: dict[str, tuple[Send, int, str, int | None, str | None]] = {
    "malformed json": (_malformed, 400, "malformed_json", None, None),
    "empty batch": (sending(), 422, "invalid_batch_size", None, "events"),
    "1001 events": (sending(*[{}] * 1001), 422, "invalid_batch_size", None, "events"),
    "unknown type": (sending(env("NoSuchThing")), 422, "unknown_event_type", 0, "type"),
    "an output type": (
        sending(env("ProjectFinancesChanged")),
        422,
        "unknown_event_type",
        0,
        "type",
    ),
    "25 hours": (
        sending(SETUP[0], env("HoursLogged", **{**HOUR, "hours": "25"})),
        422,
        "invalid_field",
        1,
        "data.hours",
    ),
    "missing hours": (sending(env("HoursLogged", **HOUR)), 422, "missing_field", 0, "data.hours"),
    "unknown field": (
        sending(env("HoursLogged", **HOUR, hours="1", hourz="1")),
        422,
        "unknown_field",
        0,
        "data.hourz",
    ),
    "month 13": (
        sending(
            env(
                "RatesSet",
                level="user",
                rate_type="billing",
                user_id="U",
                periods=[{"value": "1", "start_date": "2023-13-01"}],
            )
        ),
        422,
        "invalid_field",
        0,
        "data.periods[0].start_date",
    ),
    "a position in the envelope": (
        sending({**SETUP[0], "position": 3}),
        422,
        "unknown_field",
        0,
        "position",
    ),
    "an event_id not a uuid": (
        sending({**SETUP[0], "event_id": "nope"}),
        422,
        "invalid_field",
        0,
        "event_id",
    ),
    "rates without rates:write": (
        sending(
            env("RatesSet", level="user", rate_type="billing", user_id="U", periods=[]),
            headers=token("events:write"),
        ),
        403,
        "forbidden",
        0,
        None,
    ),
    "recalculation without finance:recalculate": (
        sending(
            env("FinancesRecalculationRequested", project_ids=["P"]),
            headers=token("events:write"),
        ),
        403,
        "forbidden",
        0,
        None,
    ),
    "overlapping periods after a good event": (
        sending(
            env("CompanyDefined", company_id="C", name="C"),
            env(
                "RatesSet",
                level="user",
                rate_type="billing",
                user_id="U",
                periods=[
                    {"value": "1", "end_date": "2023-06-20"},
                    {"value": "2", "start_date": "2023-06-20"},
                ],
            ),
        ),
        409,
        "rate_periods_overlap",
        1,
        "data.periods[1].start_date",
    ),
    "a move to its own project": (
        sending(env("TaskMoved", task_id="T", to_project_id="P")),
        409,
        "task_already_in_project",
        0,
        "data.to_project_id",
    ),
    "a duplicate": (_repeat, 200, "", None, None),
    "an event_id used for another event": (_conflict, 409, "event_id_conflict", 0, "event_id"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_every_refusal_leaves_the_log_unchanged(client: httpx.AsyncClient, case: str) -> None:
    send, status, code, index, field = REFUSALS[case]
    before = await log(client)
    resp = await send(client, before)
    if status == 200:
        assert resp.status_code == 200, resp.text  # a duplicate appends nothing either
    else:
        err = error(resp, status)
        assert err["code"] == code, err
        assert err.get("event_index") == index, err
        if field is not None:
            assert err.get("field") == field, err
        assert err["message"]
    assert await log(client) == before


async def test_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer tly_forged.sig"}):
        resp = await client.post("/v1/events", content=b"not json at all", headers=headers)
        assert error(resp, 401)["code"] == "unauthorized"
    assert error(await client.get("/v1/events"), 401)["code"] == "unauthorized"
    resp = await client.get("/v1/events", headers=token("events:write"))
    assert error(resp, 403)["code"] == "forbidden"


async def test_413_on_the_header_and_on_the_bytes_read(client: httpx.AsyncClient) -> None:
    big = b'{"events": [' + b" " * 30_000 + b"]}"
    resp = await client.post("/v1/events", content=big, headers=ALL)
    assert error(resp, 413)["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: streamed
        for _ in range(30):
            yield b" " * 1000

    resp = await client.post("/v1/events", content=chunks(), headers=ALL)
    assert error(resp, 413)["code"] == "payload_too_large"
    assert len(await log(client)) == len(SETUP)


async def test_a_batch_of_every_type_round_trips(client: httpx.AsyncClient) -> None:
    batch = [
        env("CompanyDefined", company_id="C", name="Acme"),
        env("UserRolesChanged", user_id="U", primary_role_id="R", other_role_ids=[]),
        env(
            "RatesSet",
            level="company_role",
            rate_type="billing",
            company_id="C",
            role_id="R",
            periods=[{"value": "12.5", "start_date": "2023-01-01"}],
        ),
        env(
            "ProjectCreated",
            project_id="Q",
            name="Q",
            company_id="C",
            budget="1000",
            planned_start="2023-06-01",
            planned_completion="2023-06-30",
        ),
        env("ProjectUpdated", project_id="Q", company_id=None),
        env("ProjectStatusChanged", project_id="Q", status="current"),
        env(
            "TaskCreated",
            task_id="F",
            project_id="Q",
            name="F",
            revenue_type="fixed_revenue",
            revenue_amount="1000",
            assignments=[{"user_id": "U", "allocation_percent": 50}],
        ),
        env("TaskUpdated", task_id="F", planned_hours="8"),
        env("TaskStatusChanged", task_id="F", status="complete"),
        env("TaskMoved", task_id="T", to_project_id="Q"),
        env(
            "HoursLogged",
            hour_id="H1",
            owner_id="U",
            task_id="T",
            entry_date="2023-06-19",
            hours="2",
        ),
        env("HoursEdited", hour_id="H1", hours="3"),
        env(
            "HoursLogged",
            hour_id="H2",
            owner_id="U",
            project_id="Q",
            entry_date="2023-06-19",
            hours="1",
        ),
        env("HoursDeleted", hour_id="H2"),
        env(
            "ExpenseRecorded",
            expense_id="E1",
            project_id="Q",
            expense_type="travel",
            billable=True,
            actual_amount="50",
        ),
        env("ExpenseUpdated", expense_id="E1", description="train"),
        env("ExpenseRecorded", expense_id="E2", project_id="Q", expense_type="x"),
        env("ExpenseDeleted", expense_id="E2"),
        env("BillingRecordCreated", billing_record_id="B", project_id="Q", description="June"),
        env("BillingRecordUpdated", billing_record_id="B", additional_amount="25"),
        env(
            "BillingRecordItemsAdded",
            billing_record_id="B",
            hour_ids=["H1"],
            expense_ids=["E1"],
            task_ids=["F"],
        ),
        env("BillingRecordItemsRemoved", billing_record_id="B", expense_ids=["E1"]),
        env("BillingRecordStatusChanged", billing_record_id="B", status="billed"),
        env("FinancesRecalculationRequested", project_ids=["Q"], scope="planned"),
    ]
    resp = await post(
        client,
        *batch,
        headers=token("events:write", "rates:write", "finance:recalculate", subject="bob"),
    )
    assert resp.status_code == 201, resp.text
    stored = (await log(client))[len(SETUP) :]
    assert [e["type"] for e in stored] == [e["type"] for e in batch]
    assert {e["actor"] for e in stored} == {"bob"}
    assert [e["position"] for e in stored] == list(range(5, 5 + len(batch)))
    # the task move lives in the source project's stream, later hours in the target's
    assert stored[9]["stream"] == "project-P" and stored[10]["stream"] == "project-Q"
    assert stored[3]["data"]["budget"] == "1000" and stored[4]["data"] == {
        "project_id": "Q",
        "company_id": None,
    }
    ids = [e["event_id"] for e in resp.json()["events"]]
    assert ids == [e["event_id"] for e in stored]
    # filters and paging
    only = await log(client, type="HoursLogged")
    assert [e["data"]["hour_id"] for e in only] == ["H1", "H2"]
    page = (
        await client.get(
            "/v1/events", params={"after": 2, "limit": 2, "stream": "project-Q"}, headers=ALL
        )
    ).json()
    assert [e["position"] for e in page["events"]] == [8, 9]
    assert page["next_after"] == 9


async def test_recalculation_routes(client: httpx.AsyncClient) -> None:
    rec = token("finance:recalculate")
    resp = await client.post("/v1/projects/P/recalculate", json={"scope": "planned"}, headers=rec)
    assert resp.status_code == 202 and resp.json() == {"position": 5}
    resp = await client.post("/v1/projects/ghost/recalculate", json={}, headers=rec)
    assert error(resp, 404)["code"] == "unknown_project"
    resp = await client.post("/v1/projects/P/recalculate", json={"scope": "some"}, headers=rec)
    assert error(resp, 422)["field"] == "scope"
    assert (
        error(
            await client.post(
                "/v1/projects/P/recalculate", json={}, headers=ALL | token("events:write")
            ),
            403,
        )["code"]
        == "forbidden"
    )

    await post(client, env("ProjectCreated", project_id="Q", name="Q"))
    body = {"project_ids": ["P", "Q", "P"], "event_id": str(uuid.uuid4())}
    first = await client.post("/v1/recalculations", json=body, headers=rec)
    assert first.status_code == 202 and first.json() == {"positions": [7, 8]}
    again = await client.post("/v1/recalculations", json=body, headers=rec)
    assert again.json() == {"positions": [7, 8]}  # a retry appends nothing
    resp = await client.post(
        "/v1/recalculations", json={"project_ids": ["P", "ghost"]}, headers=rec
    )
    err = error(resp, 409)
    assert (err["code"], err["field"]) == ("unknown_project", "project_ids[1]")
    assert (
        error(await client.post("/v1/recalculations", json={"project_ids": []}, headers=rec), 422)[
            "code"
        ]
        == "invalid_field"
    )

    key = {"Idempotency-Key": "retry-me"} | rec
    one = await client.post("/v1/projects/Q/recalculate", json={}, headers=key)
    two = await client.post("/v1/projects/Q/recalculate", json={}, headers=key)
    assert one.json()["position"] == two.json()["position"] == 9
    stored = await log(client, type="FinancesRecalculationRequested")
    assert [(e["stream"], e["data"]["project_ids"]) for e in stored] == [
        ("project-P", ["P"]),
        ("project-P", ["P"]),
        ("project-Q", ["Q"]),
        ("project-Q", ["Q"]),
    ]


async def test_503_when_the_database_is_unreachable() -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    async with ledger_client(url) as c:
        resp = await post(c, SETUP[0])
        assert error(resp, 503)["code"] == "database_unavailable"
        assert error(await c.get("/v1/events", headers=ALL), 503)["code"] == (
            "database_unavailable"
        )
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/readyz")).status_code == 503


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
