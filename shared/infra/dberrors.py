"""Which errors mean "the database cannot be reached now" (retry later), as opposed
to an answer that will be the same next time (a bug, a value it refuses)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

#: what an unreachable, restarting, frozen or overloaded server looks like from asyncpg
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, no socket file (FileNotFoundError), unreachable
    TimeoutError,  # connect or command time-out
    PoolTimeoutError,  # no pooled connection in time
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. the connection was closed under us
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout, or cancelled by a time-out
    asyncpg.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def is_transient(exc: BaseException) -> bool:
    """True when trying again later may succeed without any change of code or data.
    Looks through SQLAlchemy's wrappers (and their adapted DBAPI errors) to the
    driver's own exception."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
        seen += 1
    return False
