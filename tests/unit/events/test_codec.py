"""The codec: a stored event published without decoding equals the full encoding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from shared.events import (
    RecordedEvent,
    encode_data,
    encode_envelope,
    encode_stored_envelope,
    parse_data,
    schema_header,
)

AT = datetime(2023, 6, 19, 9, 30, tzinfo=UTC)


def _stored(event: RecordedEvent, schema_version: int, data: str) -> tuple[bytes, bytes]:
    return encode_stored_envelope(
        event.position,
        event.event_id,
        event.stream,
        event.version,
        event.type,
        schema_version,
        event.recorded_at,
        event.actor,
        data,
    )


def _event(type_: str, data: dict[str, object]) -> RecordedEvent:
    return RecordedEvent(7, str(uuid.uuid4()), "project-p1", 3, AT, "cli", parse_data(type_, data))


def test_a_current_payload_passes_through_as_the_same_json() -> None:
    event = _event(
        "HoursLogged",
        {
            "hour_id": "h1",
            "owner_id": "u1",
            "task_id": "t1",
            "entry_date": "2023-06-19",
            "hours": "1.50",
        },
    )
    # PostgreSQL hands jsonb back re-formatted (spaces, its own key order): still the same JSON
    as_postgres_prints = orjson.dumps(
        orjson.loads(encode_data(event.data)), option=orjson.OPT_SORT_KEYS
    )
    value, header = _stored(event, 1, as_postgres_prints.decode())
    assert orjson.loads(value) == orjson.loads(encode_envelope(event))
    assert header == schema_header(event.data)


def test_an_old_payload_is_upcast_before_it_is_published() -> None:
    event = _event(
        "ExpenseRecorded",
        {"expense_id": "e1", "project_id": "p1", "expense_type": "travel", "actual_amount": "10"},
    )
    value, header = _stored(event, 1, encode_data(event.data).decode())
    published = orjson.loads(value)
    assert published["schema_version"] == event.data.schema_version == 2
    assert header == b"ExpenseRecorded/v2"
    assert published == orjson.loads(encode_envelope(event))
