"""Which errors mean "the database cannot be reached now" (retry later), as opposed
to an answer that will be the same next time (a bug, a value it refuses).

Used by the HTTP routes (a 503, `http.database_unavailable`), `/readyz`, and the
recalc worker (a transient failure blames no project: `service_layer/isolation`).
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# What "the database cannot be reached in time" looks like from asyncpg and SQLAlchemy:
# refused or missing (OSError: ConnectionRefusedError; FileNotFoundError for a Unix
# socket), no answer within the connect or command time-out (TimeoutError), starting
# up, shutting down or a cancelled statement (OperatorInterventionError: CannotConnectNow,
# AdminShutdown, QueryCanceled), a connection that broke (PostgresConnectionError,
# InterfaceError), too many connections, no pooled connection in time (pool TimeoutError).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    PoolTimeoutError,
)
# Failures before anything was sent: a write surely did not happen.
_NOT_SENT: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    FileNotFoundError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    PoolTimeoutError,
)
# A transaction the server gave up for its own reasons; the same one may pass next time.
_RETRYABLE: tuple[type[BaseException], ...] = (asyncpg.TransactionRollbackError,)


def causes(exc: BaseException) -> list[BaseException]:
    """`exc`, what a SQLAlchemy DBAPIError wraps, and their causes (a few levels)."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(out) < 8:
        e = todo.pop(0)
        if e is None or any(e is seen for seen in out):
            continue
        out.append(e)
        if isinstance(e, DBAPIError):
            todo.append(e.orig)
        todo.append(e.__cause__)
    return out


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or did not answer in time."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return any(isinstance(e, _UNAVAILABLE) for e in causes(exc))


def is_transient(exc: BaseException) -> bool:
    """True when trying again later may succeed without any change of code or data:
    the database is unavailable, or it rolled the transaction back (deadlock,
    serialization failure)."""
    return is_database_unavailable(exc) or any(isinstance(e, _RETRYABLE) for e in causes(exc))


def nothing_sent(exc: BaseException) -> bool:
    """The failure came before any statement reached the server (a write did not happen)."""
    return any(isinstance(e, _NOT_SENT) for e in causes(exc))


def unavailable_reason(exc: BaseException) -> str:
    """A short, safe code for why (no repr, no addresses)."""
    found = causes(exc)
    if any(isinstance(e, (TimeoutError, PoolTimeoutError)) for e in found):
        return "database_timeout"
    if any(isinstance(e, asyncpg.CannotConnectNowError) for e in found):
        return "database_starting"
    return "database_unreachable"
