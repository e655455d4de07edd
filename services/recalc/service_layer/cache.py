"""An LRU of stored projects, bounded by the lines they hold (not by project count),
so that memory stays flat however large single projects grow."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from services.recalc.adapters.store import Stored


class ProjectCache:
    def __init__(self, max_weight: int, on_evict: Callable[[str], None]) -> None:
        self.max_weight = max_weight
        self._on_evict = on_evict
        self._items: OrderedDict[str, tuple[Stored, int]] = OrderedDict()
        self.weight = 0

    def get(self, project_id: str) -> Stored | None:
        item = self._items.get(project_id)
        if item is None:
            return None
        self._items.move_to_end(project_id)
        return item[0]

    def put(self, project_id: str, stored: Stored) -> None:
        """(Re)insert after a transaction, with its new weight; evicts the coldest.

        The project just put is never evicted by its own insertion, even when alone
        it exceeds the bound: it is in use."""
        self.pop(project_id)
        weight = stored.weight
        self._items[project_id] = (stored, weight)
        self.weight += weight
        while self.weight > self.max_weight and len(self._items) > 1:
            coldest = next(iter(self._items))
            if coldest == project_id:
                break
            self.pop(coldest)
            self._on_evict(coldest)

    def pop(self, project_id: str) -> Stored | None:
        item = self._items.pop(project_id, None)
        if item is None:
            return None
        self.weight -= item[1]
        return item[0]

    def __contains__(self, project_id: str) -> bool:
        return project_id in self._items

    def __len__(self) -> int:
        return len(self._items)
