"""Process-wide runtime settings, applied once when a `tally` command starts, and the
timeouts every long-running loop uses."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import psutil

T = TypeVar("T")

#: Tally's processes allocate many small, long-lived objects (decoded events, hour
#: entries, cached projects). With CPython's default thresholds (700, 10, 10) the
#: collector runs every few hundred allocations and regularly walks every object
#: alive, which halves the speed of reading the log; collections this much rarer
#: keep cycles bounded while costing almost nothing.
GC_THRESHOLDS = (100_000, 50, 100)


#: a collection slower than this is logged (it stalls every request of the process)
SLOW_GC_SECONDS = 0.05
_gc_started: list[float] = []


def _time_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        took = time.perf_counter() - _gc_started[0]
        if took >= SLOW_GC_SECONDS:
            logging.getLogger(__name__).info(
                "gc: generation %d took %.0f ms (%d collected)",
                info.get("generation", -1),
                took * 1000,
                info.get("collected", 0),
            )


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    if _time_gc not in gc.callbacks:
        gc.callbacks.append(_time_gc)


def settle_loaded_state() -> None:
    """Call once a long-lived state is loaded (the ledger's write model): it is frozen,
    never walked by the collector again, and the thresholds above apply here too (for
    an app run without the `tally` command, as in tests). Idempotent."""
    tune_gc()
    gc.freeze()


def rss_mib() -> int:
    """This process's resident memory in MiB."""
    return int(psutil.Process().memory_info().rss) >> 20


def release_memory(*, collect: bool = True) -> None:
    """Collect every generation, then hand freed heap pages back to the OS (glibc's
    `malloc_trim`; a no-op elsewhere). With the rare collections above, garbage in
    cycles can outlive a burst of work by minutes, and the allocator keeps the pages
    it freed: a process that has gone idle after a burst holds its peak. The
    collection takes a fraction of a second on a large heap (call it when idle);
    without it (`collect=False`), the trim alone takes a few milliseconds."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """`await awaitable`, raising TimeoutError after `seconds`.

    Use this, never `asyncio.wait_for`, in anything that runs until cancelled. On
    Python 3.11, `wait_for` swallows a cancellation that arrives in the same loop
    iteration as the awaited result: it returns the result, the caller carries on,
    and a relay or worker told to stop keeps running (seen as a hung shutdown under
    load). `asyncio.timeout` counts cancellations (`Task.uncancel`) and lets an
    outside one through.
    """
    async with asyncio.timeout(seconds):
        return await awaitable


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; True when it is set (a cancellation passes)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
