"""Database access: one SQLAlchemy async engine per process, asyncpg underneath.

Hot paths (appends, projections' bulk writes) use the asyncpg connection under
SQLAlchemy's pool directly, for `COPY` and array-parameter statements.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import URL, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.infra.settings import Settings


def async_url(url: str) -> URL:
    """Accept `postgres://`, `postgresql://` or `postgresql+asyncpg://`."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def plain_dsn(url: str) -> str:
    """The same URL as asyncpg itself takes it (no `+asyncpg`)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 10.0,
    command_timeout: float | None = None,
    pool_timeout: float = 30.0,
) -> AsyncEngine:
    """An engine whose connections open within `connect_timeout` seconds and whose
    statements each end within `command_timeout` (None: no limit; asyncpg then cancels
    the statement and raises TimeoutError); a checkout waits `pool_timeout` at most.

    HTTP-serving engines pass the short `TALLY_DB_*` time-outs (`http_engine`); long
    internal work (the recalc worker, replays, migrations) keeps `command_timeout=None`.
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args={"timeout": connect_timeout, "command_timeout": command_timeout},
    )
    event.listen(engine.sync_engine.pool, "invalidate", _drop_at_once)
    return engine


def _drop_at_once(dbapi_connection: Any, _record: Any, _exc: BaseException | None) -> None:
    """An invalidated connection is closed at once: SQLAlchemy would first try a
    graceful close and wait up to 2 s for a server that may be the very reason
    (frozen, unreachable), on top of the time-out that made us give up on it."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and not driver.is_closed():
        driver.terminate()


def http_engine(url: str, settings: Settings) -> AsyncEngine:
    """The engine of requests: each statement short; a database that does not answer
    is a 503 within about `db_command_timeout` seconds, not a hang."""
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout,
        command_timeout=settings.db_command_timeout,
        pool_timeout=settings.db_pool_timeout,
    )


def work_engine(url: str, settings: Settings, *, pool_size: int = 2) -> AsyncEngine:
    """The engine of long internal work (the recalc worker's transactions): connects
    within the same time-out, but a statement may take as long as it needs."""
    return create_engine(
        url,
        pool_size=pool_size,
        connect_timeout=settings.db_connect_timeout,
        command_timeout=None,
        pool_timeout=settings.db_pool_timeout,
    )


async def raw(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy connection (already in its transaction)."""
    fairy = await conn.get_raw_connection()
    return cast(Any, fairy).driver_connection
