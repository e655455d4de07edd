"""Turning a request body into events to append: media type, size cap, JSON,
schema, scopes.

All of it runs before the append lock is taken; only R9 needs the log. Whatever
PostgreSQL could not store (U+0000 in a string or a key) is refused here, before
the batch joins a group append, where it would fail the other requests too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
from fastapi import Request
from pydantic import ValidationError

from services.ledger.domain.appends import Pending
from services.ledger.domain.recalc_split import split_recalculation
from shared.events import EVENT_TYPES, FinancesRecalculationRequested
from shared.events.types import QUOTE_CHARS, quote, shorten
from shared.infra.auth import Principal
from shared.infra.http import ApiError

MAX_BATCH = 1000
#: events one request may append once each recalculation is split per project: a
#: batch of 1,000 recalculations naming 1,000 projects each would otherwise be a
#: million appends in one all-or-nothing group
MAX_APPENDED = 5000
_ENVELOPE_KEYS = frozenset({"event_id", "type", "data"})
_SCOPE_OF_TYPE = {
    "RatesSet": "rates:write",
    "FinancesRecalculationRequested": "finance:recalculate",
}


def scope_for(event_type: str) -> str:
    return _SCOPE_OF_TYPE.get(event_type, "events:write")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is over {limit} bytes")


def check_media_type(request: Request) -> None:
    """415 unless the body is declared JSON: `application/json` or
    `application/*+json`, any parameters (charset). A request without a Content-Type
    is read as JSON (clients that send bytes without a header, as before); curl's
    `-d` without `-H 'Content-Type: application/json'` sends a form type: 415."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise ApiError(
        415,
        "unsupported_media_type",
        f"the body must be JSON (Content-Type: application/json), not {quote(declared)}",
    )


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON; 415 when declared as something else, 413 over `limit` bytes
    (checked on the header, then on the bytes actually read, so a lying or missing
    Content-Length cannot get around it), 400 when not JSON or a key repeats in an
    object, 422 when a string or key holds U+0000."""
    check_media_type(request)
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
    return decode_body(body)


def decode_body(body: bytes) -> Any:
    """Strict JSON: orjson (no NaN, no lone surrogates, valid UTF-8 only), no key twice
    in one object (400 `malformed_json`), no U+0000 anywhere (422 `invalid_field`)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "malformed_json", f"the body is not valid JSON: {_cut(str(exc))}"
        ) from exc
    _refuse_repeated_keys(body, parsed)
    if b"\\u0000" in body:  # the only way JSON can carry U+0000
        _refuse_nul(parsed)
    return parsed


def _refuse_repeated_keys(body: bytes, parsed: Any) -> None:
    """orjson keeps the last of a repeated key silently; refuse the body instead.

    The cheap test, all in C: a `:` outside a string is a member separator, and
    orjson writes every `:` of a string as it is. So the body's `:` count less the
    re-encoded value's is the number of members dropped, unless a string of the
    body spells a colon as an escape (`\\u003a`, rare): then, or when members were
    dropped, the standard library's parser names the key (~3x orjson's time, on
    those bodies only). For a 1,000-event batch (200 KB) the test costs ~0.2 ms
    against ~8 ms of parsing and validating."""
    try:
        again = orjson.dumps(parsed)
    except orjson.JSONEncodeError as exc:  # orjson writes ~250 levels, reads 1,024
        raise ApiError(400, "malformed_json", "the body's JSON nests too deeply") from exc
    if b"\\u003" not in body and body.count(b":") == again.count(b":"):
        return
    try:
        json.loads(body, object_pairs_hook=_unique_pairs)
    except _RepeatedKey as exc:
        raise ApiError(
            400,
            "malformed_json",
            f"the key {quote(exc.key)} appears twice in one object of the body",
        ) from None


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return out


def _refuse_nul(parsed: Any) -> None:
    """422 naming the first string (value or key) that holds U+0000: PostgreSQL's
    jsonb cannot store it. An explicit stack, not recursion: JSON nests deeper than
    Python's recursion limit allows."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), parsed)]
    while stack:  # in document order: a key before its value, the first NUL wins
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                _nul_at(path)
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                stack.append(((*path, key), item))
                if "\x00" in key:
                    stack.append(((*path, key), _NUL_KEY))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in reversed(list(enumerate(value))))
        elif value is _NUL_KEY:
            _nul_at(path)


_NUL_KEY = object()  # on the stack before a value whose key holds U+0000


def _nul_at(path: tuple[int | str, ...]) -> None:
    index: int | None = None
    if len(path) >= 2 and path[0] == "events" and isinstance(path[1], int):
        index, path = path[1], path[2:]
    field = field_path(path, "")
    raise ApiError(
        422,
        "invalid_field",
        f"{field or 'the value'}: a string holds U+0000, which cannot be stored",
        event_index=index,
        field=field,
    )


def _cut(text: str) -> str:
    return shorten(text, 4 * QUOTE_CHARS)


def _key(part: str) -> str:
    """A key as it appears in a field path: U+0000 spelled out, a long key cut."""
    return shorten(part.replace("\x00", "\\u0000"))


def field_path(loc: tuple[int | str, ...], prefix: str = "data") -> str:
    """pydantic's error location as `data.periods[1].start_date`."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{_key(part)}" if out else _key(part))
    return out


_BOUNDS = {
    "greater_than": ("gt", "must be more than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def schema_error(exc: ValidationError, prefix: str, index: int | None) -> ApiError:
    first = exc.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    code = {"missing": "missing_field", "extra_forbidden": "unknown_field"}.get(
        kind, "invalid_field"
    )
    field = field_path(tuple(first["loc"]), prefix)
    message = first["msg"]
    if kind in _BOUNDS:  # "at most 2199-12-31", not "datetime.date(2199, 12, 31)"
        name, words = _BOUNDS[kind]
        message = f"{words} {first.get('ctx', {}).get(name)}"
    return ApiError(422, code, f"{field}: {_cut(message)}", event_index=index, field=field)


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
            f"event_id {quote(value)} is not a UUID",
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
        raise ApiError(422, "unknown_field", f"unknown field {quote(name)}", field=_key(name))
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
        if len(out) > MAX_APPENDED:
            raise ApiError(
                422,
                "invalid_batch_size",
                f"a batch appends at most {MAX_APPENDED} events, counting one per project"
                " a recalculation names; split it",
                event_index=index,
                field="events",
            )
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
            422,
            "unknown_field",
            f"unknown envelope field {quote(name)}",
            event_index=index,
            field=_key(name),
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
            f"unknown event type {quote(type_name)}",
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
