"""Database access: one SQLAlchemy async engine per process, asyncpg underneath.

Hot paths (appends, projections' bulk writes) use the asyncpg connection under
SQLAlchemy's pool directly, for `COPY` and array-parameter statements.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> URL:
    """Accept `postgres://`, `postgresql://` or `postgresql+asyncpg://`."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def plain_dsn(url: str) -> str:
    """The same URL as asyncpg itself takes it (no `+asyncpg`)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


async def raw(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy connection (already in its transaction)."""
    fairy = await conn.get_raw_connection()
    return cast(Any, fairy).driver_connection
