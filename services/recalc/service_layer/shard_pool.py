"""The shard processes of `tally replay`, started before the command imports anything
heavy.

A spawned shard imports the pricing core (pydantic models, numpy: about 0.3 s) before
it can take its job. Started by `tally replay` first thing, the shards import while
the command itself imports, makes the new schema and deals the streams; started after
those, they kept the first job waiting 0.27 s on the bench's log. This module imports
only the standard library, so that starting the pool costs nothing more.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def start(jobs: int) -> ProcessPoolExecutor:
    """`jobs` spawned processes (a fork would inherit an event loop), each importing the
    shard's code now."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    for _ in range(jobs):
        pool.submit(warm)
    return pool


def warm() -> None:
    """Import what a shard runs (submitted first: each submit starts a process)."""
    import services.recalc.service_layer.replay_shard  # noqa: F401
