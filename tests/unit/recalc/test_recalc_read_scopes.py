"""Finance reads check credentials before anything else (api.md "Credentials and
scopes"): live reads need finance:read, `as_of` reads audit:read."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.recalc.entrypoints.http import router
from shared.infra.auth import create_token
from shared.infra.http import install_error_handlers

SECRET = "s" * 40


def _client() -> httpx.AsyncClient:
    # No projection state on the app: a request that got past the check would fail 500.
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = SECRET
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tally")


def _auth(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SECRET, 't', list(scopes))}"}


async def test_finance_reads_need_a_token() -> None:
    async with _client() as client:
        answer = await client.get("/v1/projects/P/finances")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")


async def test_live_reads_need_finance_read() -> None:
    async with _client() as client:
        for path in ("/v1/projects/P/finances", "/v1/projects/P/hours", "/v1/billing-records/B"):
            answer = await client.get(path, headers=_auth("audit:read"))
            assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")


async def test_as_of_reads_need_audit_read() -> None:
    async with _client() as client:
        answer = await client.get("/v1/projects/P/tasks?as_of=3", headers=_auth("finance:read"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
