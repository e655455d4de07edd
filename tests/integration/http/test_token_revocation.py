"""Revoked tokens are refused (401 "token revoked") by a whole Tally app, against the
real PostgreSQL, once the revocation cache has been refreshed; `tally token revoke`
writes the row."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from http_kit import SECRET, settings_for, tally_app
from sqlalchemy import text

from services.cli import admin
from shared.infra.auth import issue_token
from shared.infra.db import create_engine
from shared.infra.revocation import revoke

pytestmark = pytest.mark.integration

REFRESH = 0.2  # seconds (TALLY_TOKEN_REVOCATION_REFRESH_SECONDS; 5 by default)


@pytest.fixture
async def client(fresh_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(fresh_database_url, token_revocation_refresh_seconds=REFRESH)
    app = tally_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refused_within(client: httpx.AsyncClient, token: str, seconds: float) -> float:
    """How long until `token` is refused as revoked (fails after `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        resp = await client.get("/v1/events", headers=_auth(token))
        if resp.status_code == 401:
            err = resp.json()["error"]
            assert (err["code"], err["message"]) == ("unauthorized", "token revoked")
            return time.monotonic() - started
        assert resp.status_code == 200, resp.text
        await asyncio.sleep(0.02)
    raise AssertionError(f"the revoked token was still accepted after {seconds} s")


async def test_a_revoked_token_is_refused_after_the_cache_delay(
    client: httpx.AsyncClient, fresh_database_url: str
) -> None:
    doomed = issue_token(SECRET, "leaver", ["audit:read", "finance:read"])
    kept = issue_token(SECRET, "stayer", ["audit:read"])
    for token in (doomed, kept):  # accepted, and the cache is loaded
        assert (await client.get("/v1/events", headers=_auth(token.token))).status_code == 200

    engine = create_engine(fresh_database_url)
    try:
        assert await revoke(engine, doomed.token_id, "left the company")
        assert not await revoke(engine, doomed.token_id)  # once
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT reason, revoked_at IS NOT NULL FROM revoked_tokens WHERE jti = :j"
                    ),
                    {"j": doomed.token_id},
                )
            ).one()
        assert tuple(row) == ("left the company", True)
    finally:
        await engine.dispose()

    took = await _refused_within(client, doomed.token, seconds=REFRESH + 3)
    assert took < REFRESH + 3
    # refused on every route, whatever the scope (a finance read too)
    resp = await client.get("/v1/projects/P/finances", headers=_auth(doomed.token))
    assert resp.status_code == 401 and resp.json()["error"]["message"] == "token revoked"
    # other tokens are unaffected
    assert (await client.get("/v1/events", headers=_auth(kept.token))).status_code == 200


async def test_tally_token_revoke(
    client: httpx.AsyncClient, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALLY_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("TALLY_TOKEN_SECRET", SECRET)
    token = issue_token(SECRET, "cli-user", ["audit:read"])
    assert (await client.get("/v1/events", headers=_auth(token.token))).status_code == 200
    parser = argparse.ArgumentParser()
    admin.configure_token(parser)
    args = parser.parse_args(["revoke", token.token_id, "--reason", "leaked"])
    assert await asyncio.to_thread(admin.token, args) == 0
    await _refused_within(client, token.token, seconds=REFRESH + 3)


async def test_a_token_revoked_before_the_start_is_refused_by_the_first_request(
    fresh_database_url: str,
) -> None:
    token = issue_token(SECRET, "gone", ["audit:read"])
    engine = create_engine(fresh_database_url)
    try:
        await revoke(engine, token.token_id)
    finally:
        await engine.dispose()
    app = tally_app(settings_for(fresh_database_url))  # the default delay (5 s)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/v1/events", headers=_auth(token.token))
    assert resp.status_code == 401 and resp.json()["error"]["message"] == "token revoked"
