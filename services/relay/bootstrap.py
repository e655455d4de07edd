"""The relay's composition root: the sources of an installation, each with its relay."""

from __future__ import annotations

from services.relay.adapters.sources import FinanceSource, LedgerSource
from services.relay.service_layer.ports import OutboxSource
from services.relay.service_layer.relay import OutboxRelay
from shared.infra.settings import Settings


def relays_for(settings: Settings) -> list[OutboxRelay]:
    """The two relays of a Tally installation, from its settings."""
    database_url = settings.require_database_url()
    bootstrap = settings.require_kafka_bootstrap()
    sources: list[OutboxSource] = [
        LedgerSource(settings.ledger_topic),
        FinanceSource(settings.finance_topic),
    ]
    return [
        OutboxRelay(s, database_url, bootstrap, partitions=settings.topic_partitions)
        for s in sources
    ]
