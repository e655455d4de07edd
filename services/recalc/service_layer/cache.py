"""An LRU of stored projects, bounded by the lines they hold (not by project count),
so that memory stays flat however large single projects grow: cachetools' LRU with
each entry sized by its weight, telling the owner of every eviction."""

from __future__ import annotations

from collections.abc import Callable

from cachetools import LRUCache

from services.recalc.service_layer.ports import Stored


class ProjectCache(LRUCache[str, Stored]):
    def __init__(self, max_weight: int, on_evict: Callable[[str], None]) -> None:
        super().__init__(maxsize=max_weight, getsizeof=lambda stored: stored.weight)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, Stored]:
        """The coldest project goes (cachetools calls this to make room)."""
        project_id, stored = super().popitem()
        self._on_evict(project_id)
        return project_id, stored

    def put(self, project_id: str, stored: Stored) -> None:
        """(Re)insert after a transaction, with its new weight; evicts the coldest. A
        project heavier than the whole bound is not kept (and its owner is told)."""
        self.pop(project_id, None)
        if stored.weight > self.maxsize:
            self._on_evict(project_id)
            return
        self[project_id] = stored
