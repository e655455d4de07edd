"""`tally dev` as a user runs it: start, post, read back over HTTP and Kafka, Ctrl-C,
start again and find everything still there."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shared.infra.embedded import EmbeddedBroker, free_port
from shared.infra.kafka import make_consumer

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


class DevProcess:
    """`tally dev` in a subprocess; its output is collected by a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "dev"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, wait: float = 90.0) -> re.Match[str]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output)
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the output of tally dev:\n{self.output}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(60)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(TALLY_DATA_DIR=str(tmp_path / "data"), TALLY_PORT=str(free_port()))
    yield env


def start(env: dict[str, str]) -> tuple[DevProcess, str, str]:
    dev = DevProcess(env)
    token = dev.wait_for(r"(?m)^export TOKEN=(\S+)$").group(1)
    url = dev.wait_for(r"Tally is ready at (\S+)").group(1)
    return dev, url, token


def batch(tag: str) -> dict[str, Any]:
    return {
        "events": [
            {"type": "JobRoleDefined", "data": {"role_id": f"dev-{tag}", "name": "Developer"}},
            {
                "type": "UserDefined",
                "data": {"user_id": f"ann-{tag}", "name": "Ann", "primary_role_id": f"dev-{tag}"},
            },
            {"type": "ProjectCreated", "data": {"project_id": f"p-{tag}", "name": "Site"}},
        ]
    }


async def post_and_read(url: str, token: str, tag: str) -> list[int]:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        posted = await http.post("/v1/events", json=batch(tag))
        assert posted.status_code == 201, posted.text
        positions = [e["position"] for e in posted.json()["events"]]
        read = await http.get("/v1/events", params={"after": 0, "limit": 1000})
        assert read.status_code == 200
        assert [e["position"] for e in read.json()["events"]][-3:] == positions
        return positions


async def all_positions(url: str, token: str) -> list[int]:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        read = await http.get("/v1/events", params={"after": 0, "limit": 1000})
        assert read.status_code == 200
        return [e["position"] for e in read.json()["events"]]


async def positions_on_topic(bootstrap: str, topic: str, expected: set[int]) -> set[int]:
    """Positions read from the topic, until every expected one has arrived."""
    consumer = make_consumer(bootstrap, topic)
    await consumer.start()
    seen: set[int] = set()
    try:
        async with asyncio.timeout(60):
            while not expected <= seen:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    seen.update(orjson.loads(r.value)["position"] for r in records)
    finally:
        await consumer.stop()
    return seen


async def test_dev_serves_relays_stops_cleanly_and_keeps_the_log(
    dev_env: dict[str, str], fresh_database_url: str, broker: EmbeddedBroker
) -> None:
    topic = f"e2e.ledger.{uuid.uuid4().hex[:8]}"
    dev_env.update(
        TALLY_DATABASE_URL=fresh_database_url,
        TALLY_KAFKA_BOOTSTRAP=broker.bootstrap,
        TALLY_LEDGER_TOPIC=topic,
        TALLY_FINANCE_TOPIC=f"e2e.finance.{uuid.uuid4().hex[:8]}",
    )
    dev, url, token = start(dev_env)
    try:
        first = await post_and_read(url, token, "a")
        assert await positions_on_topic(broker.bootstrap, topic, set(first)) >= set(first)
        assert dev.interrupt() == 0, dev.output
        assert "Tally stopped." in dev.output
    finally:
        dev.kill()

    dev, url, token = start(dev_env)
    try:
        assert await all_positions(url, token) == first
        second = await post_and_read(url, token, "b")
        await positions_on_topic(broker.bootstrap, topic, set(first + second))
        assert dev.interrupt() == 0, dev.output
    finally:
        dev.kill()


async def test_dev_with_everything_embedded_survives_a_restart(
    dev_env: dict[str, str], tmp_path: Path
) -> None:
    dev, url, token = start(dev_env)
    try:
        positions = await post_and_read(url, token, "x")
        bootstrap = dev.wait_for(r"embedded broker at (\S+)").group(1)
        await positions_on_topic(bootstrap, "tally.ledger.v1", set(positions))
        assert dev.interrupt() == 0, dev.output
    finally:
        dev.kill()
    secret = tmp_path / "data" / "token_secret"
    assert secret.stat().st_mode & 0o777 == 0o600

    # Same data folder: the same secret (the old token works), the same log; the
    # broker comes back empty and the relay publishes the log to it again.
    dev, url, _ = start(dev_env)
    try:
        assert await all_positions(url, token) == positions
        bootstrap = dev.wait_for(r"embedded broker at (\S+)").group(1)
        await positions_on_topic(bootstrap, "tally.ledger.v1", set(positions))
        assert dev.interrupt() == 0, dev.output
    finally:
        dev.kill()
