"""One running Tally for the whole e2e session (tests use random ids), and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

# `support` is importable because pytest puts this folder (no __init__.py) on sys.path.
from support.client import Tally
from support.system import System, running_system

from shared.infra.embedded import EmbeddedBroker


@pytest.fixture(scope="session")
async def tally_system(pg_server: object, broker: EmbeddedBroker) -> AsyncIterator[System]:
    """The whole system on a database of its own (no other test appends to it)."""
    database_url = await pg_server.new_database()  # type: ignore[attr-defined]
    async with running_system(database_url, broker.bootstrap) as system:
        yield system


@pytest.fixture
async def tally(tally_system: System) -> AsyncIterator[Tally]:
    async with httpx.AsyncClient(
        base_url=tally_system.url,
        headers={"Authorization": f"Bearer {tally_system.token}"},
        timeout=60,
    ) as http:
        client = Tally(http)
        client.last = await client.head()
        yield client
