"""The servers of one bench run: a fresh PostgreSQL database, a broker of its own, and
Tally's processes (each a separate OS process, so that its RSS can be sampled)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from sqlalchemy import make_url

from shared.infra.db import plain_dsn
from shared.infra.embedded import EmbeddedPostgres, free_port
from shared.infra.migrate import upgrade
from shared.infra.runtime import within

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TALLY = str(Path(sys.executable).with_name("tally"))


async def _reachable(url: str) -> bool:
    try:
        conn = await within(3, asyncpg.connect(plain_dsn(url)))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


class Database:
    """A database of this run's own on the chosen server, created migrated, dropped after."""

    def __init__(self) -> None:
        self.embedded: EmbeddedPostgres | None = None
        self.admin_url = ""
        self.url = ""
        self.name = f"tally_bench_{uuid.uuid4().hex[:8]}"
        self.where = ""

    async def start(self) -> str:
        named = os.environ.get("TALLY_BENCH_DATABASE_URL")
        if named:
            self.admin_url, self.where = named, "TALLY_BENCH_DATABASE_URL"
        elif await _reachable(LOCAL_URL):
            self.admin_url, self.where = LOCAL_URL, "local server 127.0.0.1:5432"
        else:
            self.embedded = EmbeddedPostgres(
                Path(tempfile.mkdtemp(prefix="tally-bench-pg-")), "postgres", temporary=True
            )
            self.admin_url = await asyncio.to_thread(self.embedded.start)
            self.where = "embedded PostgreSQL"
        await self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = make_url(self.admin_url).set(database=self.name).render_as_string(False)
        await asyncio.to_thread(upgrade, self.url)
        return self.url

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(plain_dsn(self.admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def version(self) -> str:
        conn = await asyncpg.connect(plain_dsn(self.url))
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    async def stop(self) -> None:
        if self.url and os.environ.get("BENCH_KEEP_DATABASE"):
            # kept for profiling by hand; whoever asked for it drops it (an embedded
            # server is temporary: it goes with its data)
            print(f"[bench] database kept: {self.url}", flush=True)
        elif self.url:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


class RssSampler:
    """Samples the RSS of a process and its children every 50 ms, on a thread of its
    own, keeping the peak; `window()` starts a second peak for one scenario."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.window_peak = 0
        self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rss(self) -> int:
        total = 0
        with contextlib.suppress(psutil.Error):
            total += self.proc.memory_info().rss
            for child in self.proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            rss = self._rss()
            if rss:
                self.last = rss
                self.peak = max(self.peak, rss)
                self.window_peak = max(self.window_peak, rss)

    def window(self) -> int:
        """Start a new window; returns the RSS now."""
        self.window_peak = self.last
        return self.last

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)


@dataclass
class TallyProcess:
    """One `tally <command>` process, its port and its RSS sampler."""

    command: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    sampler: RssSampler | None = None
    reason: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.command}.log"

    def available(self) -> bool:
        """Does this installation ship the sub-command? (it may not have landed yet)"""
        probe = subprocess.run([TALLY, self.command, "--help"], capture_output=True, timeout=60)
        if probe.returncode != 0:
            tail = (probe.stderr or probe.stdout).decode(errors="replace").strip().splitlines()
            self.reason = f"no `tally {self.command}`" + (f": {tail[-1][:80]}" if tail else "")
            return False
        return True

    def start(self) -> None:
        env = {**os.environ, **self.env, "TALLY_PORT": str(self.port)}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [TALLY, self.command], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.sampler = RssSampler(self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:120] if lines else ""

    async def wait_ready(self, http: bool, patience: float = 60.0) -> bool:
        """Ready when /readyz answers 200 (HTTP services) or still alive after 2 s."""
        deadline = time.monotonic() + patience
        if not http:
            await asyncio.sleep(2.0)
            ok = self.alive()
        else:
            ok = False
            async with httpx.AsyncClient(timeout=2.0) as client:
                while self.alive() and time.monotonic() < deadline:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                            ok = True
                            break
                    await asyncio.sleep(0.2)
        if not ok:
            tail = self.log_tail()
            state = "exited" if not self.alive() else "not ready"
            self.reason = f"`tally {self.command}` {state}" + (f": {tail}" if tail else "")
            self.stop()
        return ok

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if self.sampler is not None:
            self.sampler.stop()
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    @property
    def peak_rss(self) -> int:
        return self.sampler.peak if self.sampler else 0
