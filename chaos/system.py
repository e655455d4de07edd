"""The servers of one chaos run, every one of them this run's own: an embedded
PostgreSQL (data under a temp folder), a Tansu broker, and Tally's processes, with
the primitives the faults use (SIGKILL and restart, broker stop and empty restart,
SIGSTOP/SIGCONT of the database server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from bench.servers import TALLY, TallyProcess
from shared.infra.auth import SCOPES, create_token
from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedBroker, EmbeddedPostgres
from shared.infra.kafka import ensure_topics
from shared.infra.runtime import within
from shared.infra.settings import Settings

CONSUMER_GROUP = "tally-chaos"


@dataclass
class Proc(TallyProcess):
    """A `tally <command>` process with a name of its own (two ledgers, two workers)."""

    name: str = ""
    http: bool = True
    kills: int = 0
    unexpected_exits: int = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name or self.command}.log"

    def sigkill(self) -> None:
        proc = self.proc
        if self.sampler is not None:
            self.sampler.stop()
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        self.kills += 1

    async def restart(self, patience: float = 60.0) -> bool:
        if self.sampler is not None:
            self.sampler.stop()
        self.start()
        return await self.wait_ready(http=self.http, patience=patience)


class ChaosSystem:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tally-chaos-"))
        self.log_dir = self.root / "logs"
        self.log_dir.mkdir()
        self.pg = EmbeddedPostgres(self.root / "pg", "tally")
        self.broker = EmbeddedBroker()
        self.settings = Settings()
        self.secret = secrets.token_urlsafe(48)
        self.url = ""
        self.dsn = ""
        self.token = ""
        self.env: dict[str, str] = {}
        self.ledgers: list[Proc] = []
        self.recalcs: list[Proc] = []
        self.relay: Proc | None = None
        self._stopped_pids: list[int] = []
        self.broker_down = False

    @property
    def procs(self) -> list[Proc]:
        return [*self.ledgers, *([self.relay] if self.relay else []), *self.recalcs]

    async def start(self, say: Callable[[str], None] = print) -> None:
        say(f"chaos: PostgreSQL and broker under {self.root}")
        self.url = await asyncio.to_thread(self.pg.start)
        self.dsn = plain_dsn(self.url)
        self.broker.start(self.log_dir / "broker.log")
        self.env = {
            "TALLY_DATABASE_URL": self.url,
            "TALLY_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "TALLY_TOKEN_SECRET": self.secret,
            "TALLY_CONSUMER_GROUP": CONSUMER_GROUP,
            "TALLY_DATA_DIR": str(self.root / "data"),
            "TALLY_LOG_LEVEL": os.environ.get("CHAOS_LOG_LEVEL", "WARNING"),
        }
        migrated = await asyncio.to_thread(
            subprocess.run,
            [TALLY, "migrate"],
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=120,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"tally migrate: {migrated.stderr.decode()[-500:]}")
        self.token = create_token(self.secret, "chaos", list(SCOPES))
        s = self.settings
        await ensure_topics(
            self.broker.bootstrap, [s.ledger_topic, s.finance_topic], s.topic_partitions
        )
        self.ledgers = [Proc("ledger", self.env, self.log_dir, name=f"ledger{i}") for i in (1, 2)]
        self.relay = Proc("relay", self.env, self.log_dir, name="relay", http=False)
        self.recalcs = [Proc("recalc", self.env, self.log_dir, name=f"recalc{i}") for i in (1, 2)]
        for proc in self.procs:
            proc.start()
        for proc in self.procs:
            if not await proc.wait_ready(http=proc.http):
                raise RuntimeError(proc.reason)
        say("chaos: 2 ledgers, 1 relay, 2 recalc workers ready")

    # --- faults -------------------------------------------------------------------

    def pg_pids(self) -> list[int]:
        """The postmaster of OUR data folder and every process under it (never the
        shared server: the postmaster's command line must name our data folder)."""
        pid_file = self.pg.data_dir / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))
        if str(self.pg.data_dir) not in " ".join(postmaster.cmdline()):
            raise RuntimeError(f"pid {postmaster.pid} is not this run's PostgreSQL")
        return [postmaster.pid, *(c.pid for c in postmaster.children(recursive=True))]

    def pause_pg(self) -> None:
        # Twice: a backend forked between the listing and the postmaster's stop is
        # caught by the second pass (a stopped postmaster forks no more).
        for _ in range(2):
            for pid in self.pg_pids():
                if pid not in self._stopped_pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSTOP)
                        self._stopped_pids.append(pid)

    def resume_pg(self) -> None:
        pids, self._stopped_pids = self._stopped_pids, []
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stop_broker(self) -> None:
        self.broker_down = True
        self.broker.stop()

    async def start_broker(self) -> None:
        """On the same port, empty (Tansu keeps its data in memory)."""
        await asyncio.to_thread(self.broker.start, self.log_dir / "broker.log")
        self.broker_down = False

    def watch_exits(self) -> list[str]:
        """Processes that died without being killed by us: counted, restarted."""
        died = []
        for proc in self.procs:
            if proc.proc is not None and proc.proc.poll() is not None:
                proc.unexpected_exits += 1
                died.append(f"{proc.name} exited {proc.proc.returncode}: {proc.log_tail()}")
                proc.start()
        return died

    # --- database reads -----------------------------------------------------------

    async def connect(self) -> asyncpg.Connection:
        return await within(5.0, asyncpg.connect(self.dsn))

    async def head(self) -> int:
        conn = await self.connect()
        try:
            return int(await within(5, conn.fetchval("SELECT position FROM log_head")))
        finally:
            await conn.close()

    async def lagging_projects(self, position: int) -> int:
        """Projects whose projection does not include `position` yet (their stream has
        an event at or below it beyond their applied position)."""
        conn = await self.connect()
        try:
            return int(
                await within(
                    10,
                    conn.fetchval(
                        "WITH low AS (SELECT COALESCE(min(applied_position), 0) AS p"
                        "  FROM projection.projects),"
                        " last AS (SELECT substr(stream, 9) AS project_id, max(position) AS p"
                        "  FROM events WHERE position > (SELECT p FROM low) AND position <= $1"
                        "  AND stream LIKE 'project-%' GROUP BY stream)"
                        " SELECT count(*) FROM last LEFT JOIN projection.projects pr"
                        "  USING (project_id) WHERE COALESCE(pr.applied_position, 0) < last.p",
                        position,
                    ),
                )
            )
        finally:
            await conn.close()

    async def relayed(self) -> dict[str, int]:
        conn = await self.connect()
        try:
            rows = await within(5, conn.fetch("SELECT name, position FROM relay_offsets"))
            return {str(r[0]): int(r[1]) for r in rows}
        finally:
            await conn.close()

    async def wait_until(
        self, check: Callable[[], Awaitable[bool]], patience: float
    ) -> float | None:
        """Seconds until `check()` (an async predicate) holds, or None after `patience`."""
        start = time.monotonic()
        while time.monotonic() - start < patience:
            with contextlib.suppress(
                OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError
            ):
                if await check():
                    return time.monotonic() - start
            await asyncio.sleep(0.25)
        return None

    # --- the end ------------------------------------------------------------------

    async def stop(self, keep_logs: bool) -> None:
        self.resume_pg()  # never leave a stopped server behind
        for proc in self.procs:
            proc.stop()
        self.broker.stop()
        await asyncio.to_thread(self.pg.stop)
        shutil.rmtree(self.root / "pg", ignore_errors=True)
        shutil.rmtree(self.root / "data", ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.root, ignore_errors=True)
