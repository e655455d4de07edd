"""An idle worker hands memory back once after a burst of work, not on every poll."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from services.recalc.entrypoints import worker as worker_module
from services.recalc.service_layer.scheduler import Notice
from shared.infra.runtime import release_memory
from shared.infra.settings import Settings


class _Advancer:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], int]] = []
        self.forgotten = 0

    async def advance(self, projects: Any, upto: int) -> set[str]:
        self.calls.append((tuple(projects), upto))
        return set(projects)

    def load_ahead(self, projects: Any) -> None:
        pass

    def forget_ahead(self) -> None:
        self.forgotten += 1


class _NothingParked:
    async def read(self) -> list[Any]:
        return []

    async def settle(self, failed: dict[str, str], released: list[str], upto: int) -> None:
        raise AssertionError("nothing fails here")


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_release_memory_collects_garbage_in_cycles() -> None:
    gc.disable()  # only the call under test may collect
    try:
        ref = weakref.ref(_Cycle())
        assert ref() is not None
        release_memory()
        assert ref() is None
    finally:
        gc.enable()


async def test_the_worker_releases_memory_once_per_idle_spell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released: list[int] = []
    monkeypatch.setattr(worker_module, "release_memory", lambda collect: released.append(1))
    monkeypatch.setattr(worker_module, "RELEASE_AFTER_IDLE", 0.05)
    advancer = _Advancer()
    w = worker_module.Worker(
        Settings(),
        advancer=advancer,  # type: ignore[arg-type]
        parking=_NothingParked(),  # type: ignore[arg-type]
    )
    stop = asyncio.Event()

    await w._work_once(stop)
    assert released == []  # no work yet: nothing to hand back
    w.scheduler.add("tp", 0, Notice(5, ("p1",), False))
    await w._work_once(stop)
    assert advancer.calls == [(("p1",), 5)]
    await w._work_once(stop)
    assert released == []  # idle, but not for long yet
    await asyncio.sleep(0.06)
    await w._work_once(stop)
    await w._work_once(stop)
    assert released == [1]  # once, however long the idle spell lasts
    assert advancer.forgotten == 1  # with what was loaded ahead and never taken
    w.scheduler.add("tp", 1, Notice(6, ("p1",), False))
    await w._work_once(stop)
    await asyncio.sleep(0.06)
    await w._work_once(stop)
    assert released == [1, 1]


def test_an_idle_worker_releases_again_when_memory_grows_without_its_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reads served by the same process (an `as_of` replay) grow the heap while the
    worker idles: memory goes back once RSS has grown `REGROWTH_MIB` since. Driven by
    a clock of its own, so that a slow machine cannot change what it sees."""
    released: list[bool] = []
    rss = [300]
    now = [1000.0]
    monkeypatch.setattr(worker_module, "release_memory", lambda collect: released.append(collect))
    monkeypatch.setattr(worker_module, "rss_mib", lambda: rss[0])
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: now[0])
    w = worker_module.Worker(
        Settings(),
        advancer=_Advancer(),  # type: ignore[arg-type]
        parking=_NothingParked(),  # type: ignore[arg-type]
    )
    check = worker_module.REGROWTH_CHECK

    def idle(seconds: float) -> None:
        now[0] += seconds
        w._release_when_idle()

    idle(check)  # the baseline, taken before any work
    rss[0] = 300 + worker_module.REGROWTH_MIB - 1
    idle(check)
    assert released == []  # grown, but less than the threshold
    rss[0] = 300 + worker_module.REGROWTH_MIB
    idle(check / 2)
    assert released == []  # checked at most once per REGROWTH_CHECK
    idle(check / 2)
    assert released == [False]  # the trim alone: reads leave no cycles to collect
    idle(check)
    assert released == [False]  # nothing grew since
    w._last_work, w._released = now[0], False  # the worker worked
    idle(worker_module.RELEASE_AFTER_IDLE / 2)
    assert released == [False]  # not idle long enough yet
    idle(worker_module.RELEASE_AFTER_IDLE / 2)
    assert released == [False, True]  # after the worker's own work: collect too
