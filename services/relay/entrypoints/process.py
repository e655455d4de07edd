"""The relay as a process (`tally relay`), or as a task of `tally dev`: every relay of
the installation, until cancelled. Run ONE per installation: two would interleave
their sends, and per-key order would no longer hold."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from services.relay.bootstrap import relays_for
from services.relay.service_layer.relay import run_relays
from shared.infra.settings import Settings

log = logging.getLogger(__name__)


def relaying(settings: Settings) -> Coroutine[Any, Any, None]:
    """Relaying the log and the finance outbox, until cancelled (each relay retries
    its own failures for ever). Settings without a database or a broker fail here, at
    once, not in the task."""
    relays = relays_for(settings)
    log.info("relaying the log and the finance outbox to %s", settings.kafka_bootstrap)
    return run_relays(relays)
