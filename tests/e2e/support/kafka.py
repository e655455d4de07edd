"""Reading what the recalc service published on the finance topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from shared.infra.kafka import make_consumer


async def find_on_topic(
    bootstrap: str, topic: str, match: Callable[[dict[str, Any]], bool], wait: float = 60
) -> dict[str, Any]:
    """The first message of `topic` (read from its beginning) for which `match` holds;
    the message's schema header is put in its `"_schema"` key."""
    consumer = make_consumer(bootstrap, topic)
    await consumer.start()
    try:
        async with asyncio.timeout(wait):
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        message: dict[str, Any] = orjson.loads(r.value)
                        message["_schema"] = dict(r.headers).get("schema", b"").decode()
                        if match(message):
                            return message
    finally:
        await consumer.stop()
