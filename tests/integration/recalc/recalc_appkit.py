"""The recalc service in a test: its settings on a broker, and its routes with the
worker running beside them, read through an in-process client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.recalc.app import recalc_lifespan
from services.recalc.entrypoints.http import router
from shared.infra.auth import create_token
from shared.infra.embedded import EmbeddedBroker
from shared.infra.http import install_error_handlers
from shared.infra.settings import Settings

SECRET = "x" * 40


def settings_for(url: str, broker: EmbeddedBroker, topic: str) -> Settings:
    return Settings(
        database_url=url,
        kafka_bootstrap=broker.bootstrap,
        ledger_topic=topic,
        consumer_group=f"g-{uuid.uuid4().hex[:6]}",
        topic_partitions=3,
    )


@asynccontextmanager
async def running(
    settings: Settings, engine: AsyncEngine, scopes: Sequence[str] = ("finance:read",)
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = SECRET
    app.include_router(router)
    token = create_token(SECRET, "test", list(scopes))
    async with recalc_lifespan(app, settings, engine):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as client:
            yield client
