"""Where one transaction's time goes, by phase: logged when it is slow, so that a
slow recalculation in production says whether loading, pricing or writing was it."""

from __future__ import annotations

import logging
import time

from shared.infra.runtime import rss_mib

log = logging.getLogger("services.recalc.service_layer.advance")

#: a transaction slower than this logs its phases (`Settings.slow_transaction_seconds`)
SLOW_SECONDS = 0.5
LEVEL = logging.INFO


class PhaseClock:
    __slots__ = ("_last", "_notes", "_phases", "_slow", "_start")

    def __init__(self, slow: float = SLOW_SECONDS) -> None:
        self._slow = slow
        self._start = self._last = time.perf_counter()
        self._phases: dict[str, float] = {}
        self._notes: list[str] = []

    def note(self, text: str) -> None:
        self._notes.append(text)

    def mark(self, phase: str) -> None:
        """The time since the previous mark was spent on `phase`."""
        now = time.perf_counter()
        self._phases[phase] = self._phases.get(phase, 0.0) + now - self._last
        self._last = now

    def report(self, what: str) -> None:
        total = self._last - self._start
        if total < self._slow:
            return
        phases = " ".join([*(f"{k} {v * 1000:.0f}" for k, v in self._phases.items()), *self._notes])
        log.log(LEVEL, "%s: %.0f ms (%s); RSS %d MiB", what, total * 1000, phases, rss_mib())
