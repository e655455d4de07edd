"""Tally's side of each scenario, driven from outside: HTTP API and Kafka topics."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import orjson

from bench.client import Outcome, TallyClient
from bench.finance import FinanceWatch, LedgerWatch
from bench.org import Org, rates_set
from bench.servers import TALLY, RssSampler
from bench.workload import body, envelope
from shared.infra.runtime import within


@dataclass(slots=True)
class Freshness:
    latencies: list[float]  # seconds, one per event whose effect was published
    missing: int  # events whose effect never appeared
    by_cause: int  # events matched by a message naming them as its cause
    unanswered: int  # POSTs still unanswered `linger` s after the last was sent
    outcome: Outcome
    # seconds of each hop, for the events matched by cause whose ledger message was seen:
    # POST -> relay produced it, -> worker produced its change, -> the change was read
    hops: dict[str, list[float]]


@dataclass(slots=True)
class Timed:
    seconds: float
    via: str  # how the end was seen: the finance topic or the reads


async def post_setup(client: TallyClient, phases: list[list[bytes]], concurrency: int) -> Outcome:
    """The organisation, phase by phase (each phase only references earlier ones)."""
    total = Outcome()
    for phase in phases:
        outcome, _ = await client.post_all(phase, concurrency)
        total.events += outcome.events
        total.last_position = max(total.last_position, outcome.last_position)
        if outcome.failed_requests:
            total.failed_requests += outcome.failed_requests
            total.first_error = total.first_error or outcome.first_error
            break
    return total


async def change_rate(client: TallyClient, org: Org, round_: int) -> None:
    """A rate change before a recalculation, so that it re-prices something (E9)."""
    rng = random.Random(100 + round_)
    role = org.roles[round_ % len(org.roles)]
    periods = [
        {"value": f"{90 + round_}.00", "end_date": "2023-12-31"},
        {"value": f"{95 + round_}.00", "start_date": "2024-01-01"},
    ]
    ev = rates_set("role", "billing", periods, role_id=role)
    outcome = Outcome()
    await client.post_events(body([envelope(ev, rng)]), outcome)
    if outcome.failed_requests:
        raise RuntimeError(f"rate change refused: {outcome.first_error}")


async def wait_for(
    client: TallyClient,
    watch: FinanceWatch,
    keys: set[tuple[str, int]],
    start: float,
    patience: float,
) -> Timed | None:
    """Until the `FinancesRecalculated` of every key is on the finance topic; if the topic
    stays silent, until the reads include the highest position (min_position)."""
    arrived = await watch.wait_recalculated(keys, patience)
    if arrived is not None:
        return Timed(arrived - start, "finance topic")
    if watch.messages == 0:
        project, position = max(keys, key=lambda k: k[1])
        if await client.caught_up(project, position, 5.0):
            return Timed(time.perf_counter() - start, "reads (finance topic silent)")
    return None


async def freshness(
    client: TallyClient,
    watch: FinanceWatch,
    envelopes: list[dict[str, Any]],
    rate: int,
    linger: float,
    ledger: LedgerWatch | None = None,
) -> Freshness:
    """Post single events at a steady `rate`; latency of each = its ProjectFinancesChanged
    (matched by cause position) arriving, minus the moment its POST was sent."""
    outcome = Outcome()
    sent: dict[int, float] = {}
    wall: dict[int, float] = {}  # position -> epoch seconds at the POST
    projects: dict[int, str] = {}
    watch.watch_changes = True

    async def one(env: dict[str, Any]) -> None:
        t0, w0 = time.perf_counter(), time.time()
        positions = await client.post_open(orjson.dumps({"events": [env]}), outcome)
        if positions:
            sent[positions[0]] = t0
            wall[positions[0]] = w0
            projects[positions[0]] = str(env["data"]["task_id"]).split("-")[0]

    tasks = []
    start = time.perf_counter()
    for i, env in enumerate(envelopes):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(env)))
    # A server that cannot keep up leaves requests waiting: give them `linger`, no more.
    _, late = await asyncio.wait(tasks, timeout=linger)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    await watch.wait_changes(projects, linger)
    watch.watch_changes = False
    latencies: list[float] = []
    by_cause = 0
    hops: dict[str, list[float]] = {"relay": [], "worker": [], "read": []}
    for position, t0 in sent.items():
        seen = watch.reflected(projects[position], position)
        if seen is not None:
            latencies.append(seen[0] - t0)
            by_cause += seen[1]
            relayed = ledger.produced.get(position) if ledger is not None else None
            changed = watch.produced.get(position)
            if seen[1] and relayed is not None and changed is not None:
                hops["relay"].append(relayed - wall[position])
                hops["worker"].append(changed - relayed)
                hops["read"].append(seen[0] - t0 - (changed - wall[position]))
    unanswered = len(envelopes) - len(sent)
    return Freshness(latencies, len(sent) - len(latencies), by_cause, unanswered, outcome, hops)


def replay_available() -> str:
    """'' when `tally replay` exists, else why not."""
    probe = subprocess.run([TALLY, "replay", "--help"], capture_output=True, timeout=60)
    if probe.returncode == 0:
        return ""
    return "no `tally replay` yet"


def _spawn(env: dict[str, str], log_path: str) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            [TALLY, "replay"], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


async def replay(env: dict[str, str], log_path: str, patience: float) -> tuple[float, int, int]:
    """Seconds, exit code and peak RSS of `tally replay` (killed after `patience` s)."""
    start = time.perf_counter()
    proc = _spawn(env, log_path)
    sampler = RssSampler(proc.pid)
    try:
        code = await within(patience, asyncio.to_thread(proc.wait))
    except TimeoutError:
        code = -1
    finally:
        sampler.stop()
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait)
    return time.perf_counter() - start, code, sampler.peak
