"""Turning a request body into events to append: size cap, JSON, schema, scopes.

All of it runs before the append lock is taken; only R9 needs the log.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Request
from pydantic import ValidationError

from services.ledger.adapters.event_store import Pending
from services.ledger.domain.recalc_split import split_recalculation
from shared.events import EVENT_TYPES, FinancesRecalculationRequested
from shared.infra.auth import Principal
from shared.infra.http import ApiError

MAX_BATCH = 1000
_ENVELOPE_KEYS = frozenset({"event_id", "type", "data"})
_SCOPE_OF_TYPE = {
    "RatesSet": "rates:write",
    "FinancesRecalculationRequested": "finance:recalculate",
}


def scope_for(event_type: str) -> str:
    return _SCOPE_OF_TYPE.get(event_type, "events:write")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is over {limit} bytes")


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON; 413 over `limit` bytes (checked on the header, then on the
    bytes actually read, so a lying or missing Content-Length cannot get around it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc


def field_path(loc: tuple[int | str, ...], prefix: str = "data") -> str:
    """pydantic's error location as `data.periods[1].start_date`."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def schema_error(exc: ValidationError, prefix: str, index: int | None) -> ApiError:
    first = exc.errors()[0]
    kind = first["type"]
    code = {"missing": "missing_field", "extra_forbidden": "unknown_field"}.get(
        kind, "invalid_field"
    )
    field = field_path(tuple(first["loc"]), prefix)
    return ApiError(422, code, f"{field}: {first['msg']}", event_index=index, field=field)


def parse_event_id(value: Any, index: int | None, field: str = "event_id") -> uuid.UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(
            422, "invalid_field", "event_id must be a UUID string", event_index=index, field=field
        )
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ApiError(
            422,
            "invalid_field",
            f"event_id {value!r} is not a UUID",
            event_index=index,
            field=field,
        ) from exc


def parse_batch(body: Any, who: Principal) -> list[Pending]:
    """Envelopes -> events to append, in order (a bulk recalculation becomes one per
    project); 422 for what the schema tells, 403 for a missing scope."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_field", 'the body must be {"events": [...]}', field="events")
    extra = set(body) - {"events"}
    if extra:
        name = sorted(extra)[0]
        raise ApiError(422, "unknown_field", f"unknown field {name!r}", field=name)
    envelopes = body.get("events")
    if envelopes is None:
        raise ApiError(422, "missing_field", "the body needs an events list", field="events")
    if not isinstance(envelopes, list):
        raise ApiError(422, "invalid_field", "events must be a list", field="events")
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise ApiError(
            422,
            "invalid_batch_size",
            f"a batch holds 1 to {MAX_BATCH} events, not {len(envelopes)}",
            field="events",
        )
    out: list[Pending] = []
    for index, env in enumerate(envelopes):
        out.extend(_parse_one(index, env, who))
    return out


def _parse_one(index: int, env: Any, who: Principal) -> list[Pending]:
    if not isinstance(env, dict):
        raise ApiError(
            422, "invalid_field", "an event must be a JSON object", event_index=index, field=""
        )
    extra = set(env) - _ENVELOPE_KEYS
    if extra:
        name = sorted(extra)[0]
        raise ApiError(
            422, "unknown_field", f"unknown envelope field {name!r}", event_index=index, field=name
        )
    type_name = env.get("type")
    if type_name is None:
        raise ApiError(
            422, "missing_field", "the event has no type", event_index=index, field="type"
        )
    cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None or cls.internal:
        raise ApiError(
            422,
            "unknown_event_type",
            f"unknown event type {type_name!r}",
            event_index=index,
            field="type",
        )
    scope = scope_for(cls.event_type)
    if not who.has(scope):
        raise ApiError(
            403,
            "forbidden",
            f"event {index} ({cls.event_type}) needs the scope {scope!r}",
            event_index=index,
        )
    given = parse_event_id(env.get("event_id"), index)
    if "data" not in env:
        raise ApiError(
            422, "missing_field", "the event has no data", event_index=index, field="data"
        )
    if not isinstance(env["data"], dict):
        raise ApiError(
            422, "invalid_field", "data must be a JSON object", event_index=index, field="data"
        )
    try:
        data = cls.model_validate(env["data"])
    except ValidationError as exc:
        raise schema_error(exc, "data", index) from None
    event_id = given or uuid.uuid4()
    if isinstance(data, FinancesRecalculationRequested):
        return [
            Pending(index, eid, part, client_id=given is not None)
            for eid, part in split_recalculation(event_id, data)
        ]
    return [Pending(index, event_id, data, client_id=given is not None)]
