"""Test session servers: a real PostgreSQL and a real Kafka-compatible broker.

PostgreSQL: the server named by TALLY_TEST_DATABASE_URL when set (any database
on it; the session creates its own databases there), else an embedded one.
The broker: always a Tansu process of the session's own, on a free port.
Nothing starts unless a test asks for it, so unit tests need no server.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.infra.db import create_engine, plain_dsn
from shared.infra.embedded import SCRATCH_SETTINGS, EmbeddedBroker, EmbeddedPostgres
from shared.infra.migrate import upgrade


class PgServer:
    """Creates throw-away databases on one server; the first is migrated once and
    every later one is cloned from it (CREATE DATABASE … TEMPLATE), which is fast."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.template: str | None = None
        self.created: list[str] = []

    def url_for(self, database: str) -> str:
        from sqlalchemy import make_url

        return make_url(self.admin_url).set(database=database).render_as_string(False)

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(plain_dsn(self.admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def new_database(self) -> str:
        if self.template is None:
            name = f"tally_tpl_{uuid.uuid4().hex[:8]}"
            await self._admin(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            await asyncio.to_thread(upgrade, self.url_for(name))
            self.template = name
        name = f"tally_t_{uuid.uuid4().hex[:10]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url_for(name)

    async def drop_all(self) -> None:
        for name in reversed(self.created):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = os.environ.get("TALLY_TEST_DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    if not url:
        # temporary: its folder goes at the end, even when tests fail or are
        # interrupted (and at exit, should this teardown never run)
        embedded = EmbeddedPostgres(
            Path(tempfile.mkdtemp(prefix="tally-test-pg-")),
            "postgres",
            settings=SCRATCH_SETTINGS,
            temporary=True,
        )
        url = embedded.start()
    server = PgServer(url)
    try:
        yield server
    finally:
        if embedded is not None:
            embedded.stop()  # with every database on it
        else:
            asyncio.run(server.drop_all())


@pytest.fixture(scope="session")
async def database_url(pg_server: PgServer) -> str:
    """One migrated database shared by the session's tests (use random ids)."""
    return await pg_server.new_database()


@pytest.fixture
async def fresh_database_url(pg_server: PgServer) -> str:
    """A migrated, empty database of the test's own (for tests that read the whole log)."""
    return await pg_server.new_database()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker()
    b.start()
    yield b
    b.stop()


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that stop or restart it."""
    b = EmbeddedBroker()
    b.start()
    yield b
    b.stop()
