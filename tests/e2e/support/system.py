"""The whole system, composed the way `tally dev` composes it, served by uvicorn in
this test process: ledger and recalc routes, both lifespans, the recalc worker and
both outbox relays, against a real PostgreSQL and the session's Tansu broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import SecretStr

from services.cli.dev import build_app
from services.cli.serve import make_server
from shared.infra.auth import SCOPES, create_token
from shared.infra.embedded import free_port
from shared.infra.runtime import within
from shared.infra.settings import Settings

SECRET = "e2e-" + "k" * 40


@dataclass(frozen=True)
class System:
    url: str
    token: str
    settings: Settings


@contextlib.asynccontextmanager
async def running_system(database_url: str, bootstrap: str) -> AsyncIterator[System]:
    """Serve `build_app` (what `tally dev` serves) on a free port until the block ends.
    Topics and the consumer group are the run's own: the broker is shared."""
    tag = uuid.uuid4().hex[:8]
    port = free_port()
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        token_secret=SecretStr(SECRET),
        host="127.0.0.1",
        port=port,
        ledger_topic=f"e2e.ledger.{tag}",
        finance_topic=f"e2e.finance.{tag}",
        consumer_group=f"e2e-recalc-{tag}",
        topic_partitions=3,
        db_pool_size=5,
        log_level="WARNING",
    )
    server = make_server(build_app(settings), settings.host, port, settings)
    task = asyncio.create_task(server.serve(), name="e2e-uvicorn")
    try:
        async with asyncio.timeout(60):
            while not server.started:
                if task.done():
                    task.result()  # start-up failed: raise its error
                    raise AssertionError("uvicorn stopped during start-up")
                await asyncio.sleep(0.05)
        token = create_token(SECRET, "e2e", list(SCOPES))
        yield System(url=f"http://127.0.0.1:{port}", token=token, settings=settings)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await within(30, task)
