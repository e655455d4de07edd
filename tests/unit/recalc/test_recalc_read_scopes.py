"""Finance reads check credentials before anything else (api.md "Credentials and
scopes"): live reads need finance:read, `as_of` reads audit:read."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.recalc.entrypoints.http import router
from shared.infra.auth import create_token
from shared.infra.http import install_error_handlers

SECRET = "s" * 40


def _client() -> TestClient:
    # No projection state on the app: a request that got past the check would fail 500.
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = SECRET
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def _auth(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SECRET, 't', list(scopes))}"}


def test_finance_reads_need_a_token() -> None:
    answer = _client().get("/v1/projects/P/finances")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")


def test_live_reads_need_finance_read() -> None:
    client = _client()
    for path in ("/v1/projects/P/finances", "/v1/projects/P/hours", "/v1/billing-records/B"):
        answer = client.get(path, headers=_auth("audit:read"))
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")


def test_as_of_reads_need_audit_read() -> None:
    answer = _client().get("/v1/projects/P/tasks?as_of=3", headers=_auth("finance:read"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden")
