"""An undo journal: lets the write model take back a batch that was refused or whose
transaction failed, without copying a model that may hold a million hour entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MISSING: Any = object()


class Journal:
    """Records how to undo each mutation while active; replaying the log (facts that
    are already committed) runs with the journal inactive and costs nothing."""

    __slots__ = ("_undo", "active")

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.active = False

    def begin(self) -> None:
        self._undo.clear()
        self.active = True

    def commit(self) -> None:
        self._undo.clear()
        self.active = False

    def rollback(self) -> None:
        self.rollback_to(0)
        self.active = False

    def mark(self) -> int:
        """A point to undo back to: one batch of a group is refused, not the group."""
        return len(self._undo)

    def rollback_to(self, mark: int) -> None:
        """Undo every mutation recorded after `mark`; the journal stays active."""
        undo = self._undo
        while len(undo) > mark:
            undo.pop()()

    def set_item(self, d: dict[Any, Any], key: Any, value: Any) -> None:
        if self.active:
            old = d.get(key, _MISSING)
            self._undo.append(lambda: _restore(d, key, old))
        d[key] = value

    def del_item(self, d: dict[Any, Any], key: Any) -> None:
        old = d.pop(key)
        if self.active:
            self._undo.append(lambda: d.__setitem__(key, old))

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        if self.active:
            old = getattr(obj, name)
            self._undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, value)

    def add(self, s: set[Any], item: Any) -> None:
        if item in s:
            return
        s.add(item)
        if self.active:
            self._undo.append(lambda: s.discard(item))


def _restore(d: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        d.pop(key, None)
    else:
        d[key] = old
