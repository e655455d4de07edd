"""What a relay remembers about the broker, to notice that the broker lost its data.

Kafka offsets never go backwards on a broker that keeps its data; the embedded
broker (Tansu, memory storage) comes back empty after a restart. The marker keeps,
per partition the relay has published to, the offsets of its last chunk there:

- `last`: the highest offset delivered. A later delivery at or below it means the
  partition started over (checked after every chunk, for free).
- `first`: the lowest offset delivered in that last chunk. After (re)connecting, a
  partition whose end offset is <= `first` lost data. `first` rather than `last`
  because Tansu reports a partition's end offset as the base offset of its last
  record batch + 1, and a batch never spans two chunks (the relay awaits every
  delivery of a chunk before sending the next), so end > first holds on Tansu and
  on Kafka alike whenever the data is still there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import orjson

#: (partition, offset) of one delivered message.
Delivery = tuple[int, int]


@dataclass(frozen=True, slots=True)
class BrokerMarker:
    topic: str
    #: partition -> (first offset of the last chunk there, last offset delivered)
    offsets: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    #: Set when a chunk showed the loss: survives a crash before the republish starts.
    is_lost: bool = False

    @property
    def partitions(self) -> list[int]:
        return sorted(self.offsets)

    def max_partition(self) -> int:
        return max(self.offsets, default=-1)

    def advanced(self, sent: Iterable[Delivery]) -> BrokerMarker:
        spans: dict[int, tuple[int, int]] = {}
        for partition, offset in sent:
            low, high = spans.get(partition, (offset, offset))
            spans[partition] = (min(low, offset), max(high, offset))
        return replace(self, offsets={**self.offsets, **spans})

    def regressed(self, sent: Iterable[Delivery]) -> bool:
        """True when a delivery landed at or below an offset we had already seen."""
        return any(
            partition in self.offsets and offset <= self.offsets[partition][1]
            for partition, offset in sent
        )

    def behind(self, ends: Mapping[int, int]) -> bool:
        """True when some partition's end offset shows it no longer holds our last chunk."""
        return any(ends.get(p, 0) <= first for p, (first, _) in self.offsets.items())

    def lost(self) -> BrokerMarker:
        return replace(self, is_lost=True)

    def dump(self) -> str:
        return orjson.dumps(
            {
                "topic": self.topic,
                "lost": self.is_lost,
                "offsets": {str(p): list(span) for p, span in sorted(self.offsets.items())},
            }
        ).decode()

    @classmethod
    def parse(cls, text: str | None, topic: str) -> BrokerMarker:
        """The stored marker; one written for another topic counts as lost (the new
        topic must get the whole source)."""
        if not text:
            return cls(topic)
        raw = orjson.loads(text)
        offsets = {int(p): (int(span[0]), int(span[1])) for p, span in raw["offsets"].items()}
        return cls(topic, offsets, bool(raw.get("lost")) or raw.get("topic") != topic)
