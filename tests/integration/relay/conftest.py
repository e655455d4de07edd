"""Fixtures of the relay tests (helpers are in relaykit.py)."""

from __future__ import annotations

import uuid

import pytest
from relaykit import FinanceWriter, LogWriter


@pytest.fixture
def log_writer(fresh_database_url: str) -> LogWriter:
    return LogWriter(fresh_database_url)


@pytest.fixture
def finance_writer(fresh_database_url: str) -> FinanceWriter:
    return FinanceWriter(fresh_database_url)


@pytest.fixture
def topic() -> str:
    return f"t.{uuid.uuid4().hex[:10]}"
