"""The base of every event payload and the registry of event types."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.events.types import Frozen


class EventData(Frozen):
    """The `data` of one event. Subclasses name their type and schema version.

    `schema_version` is the version of this payload's shape; old stored shapes
    are upcast on read by `shared.events.upcasting`, never rewritten in the log.
    """

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    #: Published by the recalc service, never accepted from clients.
    internal: ClassVar[bool] = False

    def provided(self) -> frozenset[str]:
        """Fields the client actually sent (an update names only what changes)."""
        return frozenset(self.model_fields_set)


EVENT_TYPES: dict[str, type[EventData]] = {}


def register(cls: type[EventData]) -> type[EventData]:
    """Class decorator: make `cls` known to the codec under its type name."""
    name = cls.__name__
    if name in EVENT_TYPES:
        raise ValueError(f"event type {name} registered twice")
    cls.event_type = name
    EVENT_TYPES[name] = cls
    return cls


def field_names(cls: type[EventData]) -> frozenset[str]:
    return frozenset(cls.model_fields)


def as_dict(data: EventData) -> dict[str, Any]:
    """JSON-ready payload holding only the fields that were provided."""
    return data.model_dump(mode="json", exclude_unset=True)
