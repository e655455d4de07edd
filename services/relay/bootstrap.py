"""The relay's composition root: each source of an installation, read from
PostgreSQL and published to Kafka by a relay of its own."""

from __future__ import annotations

from typing import Any

from services.relay.adapters.kafka_broker import KafkaBroker
from services.relay.adapters.pg_outbox import (
    FinanceSource,
    LedgerSource,
    OutboxSource,
    PgOutbox,
)
from services.relay.service_layer.ports import Broker, Outbox
from services.relay.service_layer.relay import OutboxRelay
from shared.infra.settings import Settings

#: seconds any one step with the database or the broker may take
TIMEOUT = 30.0


def relay(
    source: OutboxSource, database_url: str, bootstrap: str, *, partitions: int, **options: Any
) -> OutboxRelay:
    """A relay of `source` (on PostgreSQL at `database_url`) to Kafka at `bootstrap`;
    `options` are `OutboxRelay`'s (intervals, chunk size, time-out)."""
    timeout = float(options.get("timeout", TIMEOUT))

    async def open_outbox() -> Outbox:
        return await PgOutbox.open(source, database_url)

    async def open_broker() -> Broker:
        return await KafkaBroker.open(bootstrap, source.topic, timeout)

    return OutboxRelay(
        source.name, source.topic, open_outbox, open_broker, partitions=partitions, **options
    )


def relays_for(settings: Settings) -> list[OutboxRelay]:
    """The two relays of a Tally installation, from its settings."""
    database_url = settings.require_database_url()
    bootstrap = settings.require_kafka_bootstrap()
    sources: list[OutboxSource] = [
        LedgerSource(settings.ledger_topic),
        FinanceSource(settings.finance_topic),
    ]
    return [
        relay(s, database_url, bootstrap, partitions=settings.topic_partitions) for s in sources
    ]
