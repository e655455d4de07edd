"""The relay's in-memory ports keep their contracts (the same suites run on
PostgreSQL and Kafka: tests/integration/relay/test_real_ports.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from relay_contracts import BrokerContract, OutboxContract, OutboxKit

from services.relay.adapters.memory import MemoryBroker, MemoryTable
from services.relay.service_layer.ports import Broker


class TestMemoryOutbox(OutboxContract):
    @pytest.fixture
    def outbox_kit(self) -> OutboxKit:
        table = MemoryTable()

        async def write(n: int) -> None:
            for i in range(n):
                table.append(f"k{i % 3}", b"{}")

        return OutboxKit(table.open, write)


class TestMemoryBroker(BrokerContract):
    @pytest.fixture
    def open_broker(self) -> Callable[[], Awaitable[Broker]]:
        broker = MemoryBroker()

        async def open_() -> Broker:
            return await broker.open("t")

        return open_
