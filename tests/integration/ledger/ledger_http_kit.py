"""A ledger app on a database of its own, driven in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.ledger.app import create_app
from shared.infra.auth import SCOPES, create_token
from shared.infra.settings import Settings

SECRET = "k" * 40


def token(*scopes: str, subject: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SECRET, subject, scopes or SCOPES)}"}


ALL = token()


@asynccontextmanager
async def ledger_client(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, token_secret=SECRET, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            yield client


def env(type_name: str, event_id: str | None = None, **data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_name, "data": data}
    if event_id is not None:
        out["event_id"] = event_id
    return out
