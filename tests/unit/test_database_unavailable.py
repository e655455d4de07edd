"""Which errors are a 503 `database_unavailable`, and what an append's 503 says."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shared.infra.dberrors import is_database_unavailable, unavailable_reason
from shared.infra.http import database_unavailable


def wrapped(orig: Exception, **kw: bool) -> DBAPIError:
    """As SQLAlchemy raises them: its adapted error, caused by the driver's."""
    adapted = Exception("adapted")
    adapted.__cause__ = orig
    return DBAPIError("SELECT 1", None, adapted, **kw)


@pytest.mark.parametrize(
    ("exc", "reason", "sent"),
    [
        (ConnectionRefusedError(), "database_unreachable", False),
        (FileNotFoundError(), "database_unreachable", False),  # no Unix socket
        (TimeoutError(), "database_timeout", True),
        (PoolTimeoutError(), "database_timeout", False),
        (wrapped(asyncpg.CannotConnectNowError("starting up")), "database_starting", False),
        (wrapped(asyncpg.QueryCanceledError("canceled")), "database_unreachable", True),
        (wrapped(asyncpg.InterfaceError("closed")), "database_unreachable", True),
        (wrapped(ValueError("x"), connection_invalidated=True), "database_unreachable", True),
    ],
)
def test_unavailable(exc: Exception, reason: str, sent: bool) -> None:
    assert is_database_unavailable(exc)
    assert unavailable_reason(exc) == reason
    read = database_unavailable(exc)
    write = database_unavailable(exc, write=True)
    assert (read.status, read.code, write.status, write.code) == (
        503,
        "database_unavailable",
        503,
        "database_unavailable",
    )
    # a statement that may have gone out: the outcome is unknown, a retry is safe
    assert ("same event_id" in write.message) is sent
    assert ("nothing was appended" in write.message) is not sent


@pytest.mark.parametrize(
    "exc",
    [ValueError("x"), KeyError("k"), wrapped(asyncpg.UniqueViolationError("dup"))],
)
def test_other_errors_are_not_unavailable(exc: Exception) -> None:
    assert not is_database_unavailable(exc)
