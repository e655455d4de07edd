"""The one codec: every service encodes and decodes events through these functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from shared.events.base import EVENT_TYPES, EventData, as_dict
from shared.events.envelope import RecordedEvent
from shared.events.stored import decode_stored
from shared.events.trusted import build
from shared.events.upcasting import upcast


class UnknownEventType(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown event type {name!r}")
        self.name = name


def event_class(name: str) -> type[EventData]:
    cls = EVENT_TYPES.get(name)
    if cls is None:
        raise UnknownEventType(name)
    return cls


def parse_data(name: str, data: Any) -> EventData:
    """Validate a client's payload; raises UnknownEventType or pydantic's ValidationError."""
    return event_class(name).model_validate(data)


def encode_data(data: EventData) -> bytes:
    return orjson.dumps(as_dict(data))


def decode_data(name: str, schema_version: int, raw: str | bytes | dict[str, Any]) -> EventData:
    """Decode a stored payload, upcasting it first when it was written by an older schema.
    A payload today's input limits would refuse still decodes (`stored.py`)."""
    cls = event_class(name)
    if schema_version == cls.schema_version:
        try:
            if isinstance(raw, dict):
                return cls.model_validate(raw)
            return cls.model_validate_json(raw)
        except ValidationError:
            payload = raw if isinstance(raw, dict) else orjson.loads(raw)
    else:
        payload = raw if isinstance(raw, dict) else orjson.loads(raw)
        payload = upcast(name, schema_version, cls.schema_version, payload)
        try:
            return cls.model_validate(payload)
        except ValidationError:
            pass
    data: EventData = decode_stored(cls, payload)
    return data


def decode_logged(name: str, schema_version: int, raw: str | bytes) -> EventData:
    """Decode a payload read from the log of record: what `decode_data` gives, built
    without validation when the payload is in the form the ledger writes (`trusted.py`).
    Never for a client's input: the ledger validates that (`parse_data`)."""
    cls = event_class(name)
    if schema_version == cls.schema_version:
        data: EventData | None = build(cls, raw)
        if data is not None:
            return data
    return decode_data(name, schema_version, raw)


def schema_header(event: EventData) -> bytes:
    return f"{event.event_type}/v{event.schema_version}".encode()


def envelope_dict(event: RecordedEvent) -> dict[str, Any]:
    return {
        "position": event.position,
        "event_id": event.event_id,
        "type": event.type,
        "schema_version": event.schema_version,
        "stream": event.stream,
        "version": event.version,
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.actor,
        "data": as_dict(event.data),
    }


def encode_envelope(event: RecordedEvent) -> bytes:
    return orjson.dumps(envelope_dict(event))


def encode_stored_envelope(
    position: int,
    event_id: str,
    stream: str,
    version: int,
    name: str,
    schema_version: int,
    recorded_at: datetime,
    actor: str,
    data: str,
) -> tuple[bytes, bytes]:
    """(envelope, schema header) of a stored event, as `encode_envelope` gives them,
    without decoding what needs no upcasting: a payload already at the current
    schema is passed through as the JSON the log holds (the relay's hot path)."""
    cls = event_class(name)
    payload: Any
    if schema_version == cls.schema_version:
        payload = orjson.Fragment(data)
    else:
        payload = as_dict(decode_data(name, schema_version, data))
    envelope = {
        "position": position,
        "event_id": event_id,
        "type": name,
        "schema_version": cls.schema_version,
        "stream": stream,
        "version": version,
        "recorded_at": recorded_at.isoformat(),
        "actor": actor,
        "data": payload,
    }
    return orjson.dumps(envelope), f"{name}/v{cls.schema_version}".encode()


def decode_envelope(raw: bytes | str | dict[str, Any]) -> RecordedEvent:
    obj = raw if isinstance(raw, dict) else orjson.loads(raw)
    return RecordedEvent(
        position=int(obj["position"]),
        event_id=str(obj["event_id"]),
        stream=str(obj["stream"]),
        version=int(obj["version"]),
        recorded_at=datetime.fromisoformat(obj["recorded_at"]),
        actor=str(obj["actor"]),
        data=decode_data(obj["type"], int(obj.get("schema_version", 1)), obj["data"]),
    )
