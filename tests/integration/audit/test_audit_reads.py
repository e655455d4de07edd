"""The audit reads over HTTP (scopes, 404, 409, as_of == live), the hour history
route, and `tally audit`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from audit_kit import AuditLog
from fastapi import FastAPI

from services.cli import audit as audit_cli
from services.recalc.app import recalc_lifespan
from services.recalc.entrypoints.http import router
from shared.infra.auth import create_token
from shared.infra.http import install_error_handlers
from shared.infra.settings import Settings

pytestmark = pytest.mark.integration

SECRET = "s" * 40


@pytest.fixture
async def app(audit_log: AuditLog) -> AsyncIterator[FastAPI]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = SECRET
    app.include_router(router)
    settings = Settings(database_url=audit_log.url)
    async with recalc_lifespan(app, settings, audit_log.engine, run_worker=False):
        yield app


def client(app: FastAPI, *scopes: str) -> httpx.AsyncClient:
    token = create_token(SECRET, "test", list(scopes))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_as_of_scopes_not_found_and_not_caught_up(app: FastAPI, audit_log: AuditLog) -> None:
    head = audit_log.positions[-1]
    async with client(app, "finance:read") as reader, client(app, "audit:read") as auditor:
        assert (await reader.get("/v1/projects/p1/finances?as_of=3")).status_code == 403
        assert (await auditor.get("/v1/projects/p1/finances")).status_code == 403
        # p1 is created at position 11 of the preamble
        missing = await auditor.get("/v1/projects/p1/finances?as_of=3")
        assert missing.status_code == 404
        late = await auditor.get(f"/v1/projects/p1/finances?as_of={head + 1}&wait_ms=0")
        assert late.status_code == 409
        assert late.json()["error"]["code"] == "not_caught_up"


async def test_as_of_head_equals_live_over_http(app: FastAPI, audit_log: AuditLog) -> None:
    head = audit_log.positions[-1]
    async with client(app, "finance:read", "audit:read") as http:
        for path in (
            "/v1/projects/p1/finances",
            "/v1/projects/p1/tasks",
            "/v1/projects/p1/hours",
            "/v1/billing-records/b1",
        ):
            live = (await http.get(path)).json()
            replayed = (await http.get(f"{path}?as_of={head}")).json()
            assert replayed.pop("as_of") == head
            assert replayed == live, path


async def test_as_of_before_the_billing_lock(app: FastAPI, audit_log: AuditLog) -> None:
    billed_at = audit_log.positions[18]  # BillingRecordStatusChanged billed (STORY[1])
    async with client(app, "audit:read") as http:
        before = (await http.get(f"/v1/projects/p1/hours?as_of={billed_at - 1}")).json()
        after = (await http.get(f"/v1/projects/p1/hours?as_of={billed_at}")).json()
    (h1_before,) = [h for h in before["hours"] if h["hour_id"] == "h1"]
    (h1_after,) = [h for h in after["hours"] if h["hour_id"] == "h1"]
    assert h1_before["locked_by"] is None
    assert h1_after["locked_by"] == "b1"  # R7.3


async def test_hour_history_explains_each_pricing(app: FastAPI, audit_log: AuditLog) -> None:
    async with client(app, "audit:read") as http:
        body = (await http.get("/v1/projects/p1/hours/h1/history")).json()
        missing = await http.get("/v1/projects/p1/hours/nope/history")
    assert missing.status_code == 404
    kinds = [(p["kind"], p["cause"]["type"], p["locked"]) for p in body["history"]]
    # logged at 30/h; the manual recalc while billed keeps revenue (R7.3); the task
    # status change after unbilling re-prices at the new rate 50/h (R6.3, R1.4)
    assert kinds[0] == ("logged", "HoursLogged", False)
    assert ("recalculated", "FinancesRecalculationRequested", True) in kinds
    assert kinds[-1] == ("recalculated", "TaskStatusChanged", False)
    first, last = body["history"][0], body["history"][-1]
    assert (first["billing_rate"], first["revenue"], first["billing_rate_source"]) == (
        "30.00",
        "60.00",
        "user",
    )
    locked = next(p for p in body["history"] if p["locked"])
    assert locked["revenue"] == "60.00" and locked["locked_by"] == "b1"
    assert (last["billing_rate"], last["revenue"]) == ("50.00", "100.00")


async def test_tally_audit_formats(
    audit_log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = audit_log.positions[-1]
    data = await audit_cli.load(audit_log.url, "p1", None)
    assert data["finances"]["as_of"] == head
    assert {h["hour_id"] for h in data["hours"]} == {"h1", "h2", "h3"}  # h3 moved in
    table = audit_cli.render(data, "table")
    assert "Priced hour entries (3)" in table
    csv_text = audit_cli.render(data, "csv")
    assert csv_text.splitlines()[0] == "field,value"
    assert any(line.startswith("h3,t3,u1,2023-06-21,3,") for line in csv_text.splitlines())
    out = tmp_path / "p1.json"
    monkeypatch.setenv("TALLY_DATABASE_URL", audit_log.url)
    parser = argparse.ArgumentParser()
    audit_cli.configure_main(parser)
    argv = ["p1", "--as-of", "12", "--format", "json", "--output", str(out)]
    assert await asyncio.to_thread(audit_cli.main, parser.parse_args(argv)) == 0
    missing = parser.parse_args(["p1", "--as-of", "3"])
    assert await asyncio.to_thread(audit_cli.main, missing) == 1
    early = orjson.loads(out.read_bytes())
    assert early["finances"]["as_of"] == 12 and early["hours"] == []
    with pytest.raises(LookupError):
        await audit_cli.load(audit_log.url, "p1", 3)
