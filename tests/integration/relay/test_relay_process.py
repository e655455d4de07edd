"""`tally relay` as a process: killed with SIGKILL mid-stream, started again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from relaykit import LogWriter, covers, read_topic, sample_events
from test_relay import assert_per_key_order, stored_offset

from shared.infra.embedded import EmbeddedBroker

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def start_relay(url: str, bootstrap: str, topic: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(
        TALLY_DATABASE_URL=url,
        TALLY_KAFKA_BOOTSTRAP=bootstrap,
        TALLY_LEDGER_TOPIC=topic,
        TALLY_FINANCE_TOPIC=topic + ".finance",
        TALLY_TOPIC_PARTITIONS="3",
        TALLY_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "relay"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_killed_relay_process_loses_nothing_and_a_stopped_one_exits_0(
    log_writer: LogWriter, fresh_database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    total = 20_000
    events = sample_events(total, keys=11)
    for start in range(0, total, 5000):
        await log_writer.append(events[start : start + 5000])

    async def progressed(limit: int) -> None:
        async with asyncio.timeout(120):
            while True:
                if (await stored_offset(fresh_database_url, "ledger") or 0) >= limit:
                    return
                await asyncio.sleep(0.05)

    relay = start_relay(fresh_database_url, broker.bootstrap, topic)
    try:
        await progressed(1000)
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    killed_at = await stored_offset(fresh_database_url, "ledger")
    assert killed_at is not None and killed_at < total  # really mid-stream

    relay = start_relay(fresh_database_url, broker.bootstrap, topic)
    try:
        await progressed(total)
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(30) == 0
    messages = await read_topic(broker.bootstrap, topic, covers("position", total), wait=120)
    assert_per_key_order(messages, "position", total, restarts=1)
