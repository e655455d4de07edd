"""What the relay needs from the outside: a table to publish (`OutboxSource`).

A source names its `relay_offsets` row and the NOTIFY channel its writers signal on;
its messages carry the cursor the relay stores once they are delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    cursor: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class OutboxSource(Protocol):
    """A table the relay publishes: `name` is its `relay_offsets` row, `channel` the
    NOTIFY channel its writers signal on every commit."""

    @property
    def name(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def channel(self) -> str: ...

    async def read_after(self, conn: Any, after: int, limit: int) -> list[OutboxMessage]: ...
