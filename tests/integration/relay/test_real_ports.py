"""The relay's ports on PostgreSQL and Kafka (Tansu) keep their contracts (the same
suites run in memory: tests/unit/relay/test_memory_ports.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from relay_contracts import BrokerContract, OutboxContract, OutboxKit
from relaykit import LogWriter, sample_events

from services.relay.adapters.kafka_broker import KafkaBroker
from services.relay.adapters.pg_outbox import LedgerSource, PgOutbox
from services.relay.service_layer.ports import Broker, Outbox
from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration


class TestPgOutbox(OutboxContract):
    @pytest.fixture
    def outbox_kit(self, log_writer: LogWriter, fresh_database_url: str, topic: str) -> OutboxKit:
        async def open_() -> Outbox:
            return await PgOutbox.open(LedgerSource(topic), fresh_database_url)

        async def write(n: int) -> None:
            await log_writer.append(sample_events(n, keys=3))

        return OutboxKit(open_, write)


class TestKafkaBroker(BrokerContract):
    @pytest.fixture
    def open_broker(self, broker: EmbeddedBroker, topic: str) -> Callable[[], Awaitable[Broker]]:
        async def open_() -> Broker:
            return await KafkaBroker.open(broker.bootstrap, topic, 10.0)

        return open_
