"""Reading a body: strict JSON, what PostgreSQL cannot store, media types, short
messages (api.md; README "Input limits")."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import Request

from services.ledger.entrypoints.parsing import check_media_type, decode_body, parse_batch
from shared.infra.auth import SCOPES, Principal
from shared.infra.http import ApiError

WHO = Principal("tester", frozenset(SCOPES))


def refused(body: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode_body(body)
    return caught.value


def batch(*events: dict[str, Any]) -> bytes:
    return orjson.dumps({"events": list(events)})


def role(name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "JobRoleDefined", "data": {"role_id": "R", "name": name, **extra}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [], "events": []}',
        b'{"events": [{"type": "JobRoleDefined", "type": "JobRoleDefined", "data": {}}]}',
        b'{"events": [{"data": {"role_id": "R", "name": "a", "name": "b"}}]}',
        b'{"a": {"b": [1, {"c": "x:y", "c": ":"}]}}',
        # a colon spelled as an escape cannot hide a repeat
        b'{"a": "\\u003a", "a": "b"}',
        b'{"a": "\\u003a", "a": "\\u003A"}',  # as many colons in as out
        b'{"\\u003a": 1, ":": 2}',
    ],
)
def test_a_key_twice_in_one_object_is_malformed(body: bytes) -> None:
    err = refused(body)
    assert (err.status, err.code) == (400, "malformed_json")
    assert "twice" in err.message


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": {"a": 1}, "c": [{"a": 1}, {"a": 2}]}',
        b'{"a": "x:y:z", "b": "::", "c:d": ":"}',
        b'{"a": "\\u003a\\u003A", "b": ":"}',
        b'{"\xc3\xa9:": "\xe2\x82\xac:"}',
    ],
)
def test_the_same_key_in_different_objects_is_fine(body: bytes) -> None:
    assert decode_body(body) == orjson.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'"\\ud800"',
        b'{"name": "\\udc00"}',
        b'{"name": "\\ud800x"}',
        b'{"name": "\xff"}',
        b'{"name": "a\x00b"}',
        b"[NaN]",
        b"[1e999]",
    ],
)
def test_what_is_not_strict_json_is_malformed(body: bytes) -> None:
    assert (refused(body).status, refused(body).code) == (400, "malformed_json")


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    for depth in (300, 1000, 2000):
        err = refused(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")
        assert (err.status, err.code) == (400, "malformed_json")
    assert decode_body(b"[" * 200 + b"]" * 200)


@pytest.mark.parametrize(
    ("body", "index", "field"),
    [
        (batch(role("a\x00b")), 0, "data.name"),
        (batch(role(), role("\x00")), 1, "data.name"),
        (batch(role(**{"a\x00b": "x"})), 0, "data.a\\u0000b"),
        (batch(role(), {"type": "JobRole\x00Defined", "data": {}}), 1, "type"),
        (
            batch({"type": "RatesSet", "data": {"periods": [{"x": 1}, {"v": "\x00"}]}}),
            0,
            "data.periods[1].v",
        ),
        (batch({**role(), "event_id\x00": 1}), 0, "event_id\\u0000"),
        # the first in document order: a key before its value
        (batch(role(**{"k\x00": "v\x00"})), 0, "data.k\\u0000"),
        (orjson.dumps({"project_ids": ["P", "Q\x00"]}), None, "project_ids[1]"),
        (orjson.dumps("\x00"), None, ""),
    ],
)
def test_nul_anywhere_is_refused_with_its_place(body: bytes, index: int | None, field: str) -> None:
    err = refused(body)
    assert (err.status, err.code, err.event_index, err.field) == (
        422,
        "invalid_field",
        index,
        field,
    )
    assert "U+0000" in err.message


def test_an_escaped_backslash_before_u0000_is_not_nul() -> None:
    body = b'{"events": [{"type": "JobRoleDefined", "data": {"name": "a\\\\u0000b"}}]}'
    assert decode_body(body)["events"][0]["data"]["name"] == "a\\u0000b"


def request_with(content_type: str | None) -> Request:
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "path": "/v1/events", "headers": headers})


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/vnd.tally+json",
        "application/merge-patch+json; charset=utf-8",
    ],
)
def test_json_media_types_are_read(content_type: str | None) -> None:
    check_media_type(request_with(content_type))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/json",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-seq",
        "",
        "x" * 500,
    ],
)
def test_other_media_types_are_415(content_type: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_media_type(request_with(content_type))
    err = caught.value
    assert (err.status, err.code) == (415, "unsupported_media_type")
    assert len(err.message) < 200


def parse_refusal(body: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_batch(body, WHO)
    return caught.value


def test_messages_quote_at_most_a_short_prefix() -> None:
    long = "x" * 100_000
    cases = [
        parse_refusal({"events": [{"type": long, "data": {}}]}),
        parse_refusal({"events": [{**role(), long: 1}]}),
        parse_refusal({long: 1, "events": [role()]}),
        parse_refusal({"events": [{**role(), "event_id": long}]}),
        parse_refusal({"events": [role(long)]}),
        parse_refusal({"events": [role(**{long: 1})]}),
        parse_refusal({"events": [{"type": "HoursLogged", "data": {"hours": long}}]}),
    ]
    for err in cases:
        assert err.status == 422, err.message
        assert len(err.message) < 400, err.message[:100]
        assert err.field is None or len(err.field) < 120


def test_bound_messages_name_the_bound_plainly() -> None:
    project = {"type": "ProjectCreated", "data": {"project_id": "P", "name": "P"}}
    err = parse_refusal(
        {
            "events": [
                role(),
                {**project, "data": {**project["data"], "planned_start": "2200-01-01"}},
            ]
        }
    )
    assert (err.code, err.event_index, err.field) == ("invalid_field", 1, "data.planned_start")
    assert err.message == "data.planned_start: must be at most 2199-12-31"
    err = parse_refusal({"events": [{**project, "data": {**project["data"], "budget": "1" * 13}}]})
    assert (err.code, err.field) == ("invalid_field", "data.budget")
    assert err.message == (
        "data.budget: Decimal input should have no more than 12 digits before the decimal point"
    )


def test_recalculations_cannot_fan_a_batch_out_past_the_append_cap() -> None:
    """One recalculation event per named project: 6 x 1,000 projects is 6,000 appends."""
    many = [f"p{i}" for i in range(1000)]
    recalc = {"type": "FinancesRecalculationRequested", "data": {"project_ids": many}}
    assert len(parse_batch({"events": [recalc] * 5}, WHO)) == 5000
    with pytest.raises(ApiError) as caught:
        parse_batch({"events": [recalc] * 6}, WHO)
    err = caught.value
    assert (err.status, err.code, err.event_index) == (422, "invalid_batch_size", 5)
