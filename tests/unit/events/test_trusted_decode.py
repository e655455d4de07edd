"""Reading the log without validating again (trusted.py) gives what validating gives.

Events of every type are built through the strict models from generated input (in
every form the door accepts: "30.00", 30, 30.5, ...), encoded as the ledger stores
them, and decoded both ways: same type, same values (Decimal places included), same
fields set, same bytes again. A payload the ledger would not write (a key more or
less, another value in a field) decodes, or fails, exactly as `decode_data` does.
"""

from __future__ import annotations

import json
import types
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import annotated_types
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.events import EVENT_TYPES, EventData, encode_data
from shared.events.codec import decode_data, decode_logged
from shared.events.hours import Currency, HoursLogged
from shared.events.trusted import LoggedHours, build, logged_hours
from shared.events.types import (
    MAX_DATE,
    MAX_MONEY,
    MIN_DATE,
    BusinessDate,
    Hours,
    Id,
    Money,
    Percent,
    PlannedHours,
    Text,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _number(low: Decimal, high: Decimal, places: int) -> st.SearchStrategy[Any]:
    """An amount in every form a client may send it."""
    exact = st.decimals(min_value=low, max_value=high, places=places)
    small = st.decimals(min_value=low, max_value=min(high, Decimal(1000)), places=places)
    return st.one_of(
        exact.map(str),
        exact.map(lambda d: f"{d:f}"),
        st.tuples(exact, st.integers(0, 3)).map(
            lambda t: f"{t[0]:f}" + ("" if "." in f"{t[0]:f}" else ".") + "0" * t[1]
        ),
        small.map(float),
        small.filter(lambda d: d == d.to_integral_value()).map(int),
        st.sampled_from([str(low), str(high)]),
    )


_days = st.dates(MIN_DATE, MAX_DATE)
_chars = st.characters(codec="utf-8", exclude_characters="\x00")  # what jsonb holds
LEAVES: dict[Any, st.SearchStrategy[Any]] = {
    Money: _number(Decimal(0), MAX_MONEY, 4),
    PlannedHours: _number(Decimal(0), Decimal(10_000_000), 4),
    Hours: _number(Decimal("0.01"), Decimal(24), 2),
    Percent: _number(Decimal(0), Decimal(100), 4),
    BusinessDate: _days.map(date.isoformat) | _days,
    Id: st.from_regex(r"[A-Za-z0-9_.:\-]{1,12}", fullmatch=True),
    Text: st.text(_chars, max_size=20),
    Currency: st.sampled_from(["EUR", "USD", "CHF"]),
    Decimal: st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.integers(-(10**12), 10**12),
    str: st.text(_chars, max_size=10),
    int: st.integers(-(2**62), 2**62),
    bool: st.booleans(),
}


def _value(annotation: Any, min_size: int = 0) -> st.SearchStrategy[Any]:
    if annotation in LEAVES:
        return LEAVES[annotation]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _value(get_args(annotation)[0], min_size)
    if origin in (Union, types.UnionType):
        return st.one_of([_value(a, min_size) for a in get_args(annotation)])
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is tuple:
        return st.lists(_value(get_args(annotation)[0]), min_size=min_size, max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _payload(annotation)
    raise AssertionError(f"no strategy for {annotation}")


@st.composite
def _payload(draw: st.DrawFn, cls: type[BaseModel]) -> dict[str, Any]:
    """A client's payload for `cls`: every required field, any of the others."""
    hints = get_type_hints(cls, include_extras=True)  # Money, Id, ... as written
    out: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.is_required() or draw(st.booleans()):
            sizes = [m.min_length for m in info.metadata if isinstance(m, annotated_types.MinLen)]
            out[name] = draw(_value(hints[name], min(sizes, default=0)))
    return out


TARGETS = {"role": ["role_id"], "user": ["user_id"], "company_role": ["company_id", "role_id"]}
TARGETS["project_role"] = ["project_id", "role_id"]


@st.composite
def events(draw: st.DrawFn, cls: type[EventData]) -> EventData:
    data = draw(_payload(cls))
    # the two cross-field rules of the models (see their model validators)
    if cls.__name__ == "HoursLogged":
        keep = draw(st.sampled_from(["task_id", "project_id"]))
        drop = "project_id" if keep == "task_id" else "task_id"
        data.pop(drop, None)
        data[keep] = data.get(keep) or draw(LEAVES[Id])
    if cls.__name__ == "RatesSet":
        needed = TARGETS[data["level"]]
        for name in ("role_id", "user_id", "company_id", "project_id"):
            data.pop(name, None)
            if name in needed:
                data[name] = draw(LEAVES[Id])
    return cls.model_validate(data)


def _same(got: EventData, want: EventData) -> None:
    assert type(got) is type(want)
    assert got == want
    assert repr(got) == repr(want)  # Decimal("30") == Decimal("30.00"): places count here
    assert got.model_fields_set == want.model_fields_set
    assert encode_data(got) == encode_data(want)


NAMES = sorted(EVENT_TYPES)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_the_fast_decode_of_a_stored_event_is_the_validated_one(name: str, data: Any) -> None:
    cls = EVENT_TYPES[name]
    event = data.draw(events(cls))
    stored = encode_data(event)
    # as `data::text` gives it back: jsonb's key order, a space after ":" and ","
    keys = sorted(orjson.loads(stored).items(), key=lambda kv: (len(kv[0]), kv[0]))
    as_text = json.dumps(dict(keys), ensure_ascii=False)
    for raw in (stored, as_text):
        want = decode_data(name, cls.schema_version, raw)
        _same(want, event)
        fast = build(cls, raw)
        assert fast is not None, "the fast path refused what the ledger wrote"
        _same(fast, want)
        _same(decode_logged(name, cls.schema_version, raw), want)
        assert encode_data(fast) == stored


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_chars, max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(_chars, max_size=4), inner),
    max_leaves=4,
)
_odd_text = st.sampled_from(
    ["30.00", "1e3", " 5", "1_000", "007", "-0", "NaN", "2024-1-2", "20240102", "2024-01-02T00:00"]
)


def _forms(text: str) -> list[Any]:
    """`text` (a stored amount) as a client may also send it: same value, other form."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        return [text]
    if not value.is_finite():  # a name such as "INF" is text to this payload, not an amount
        return [text]
    padded = text + ("0" if "." in text else ".0")
    return [padded, "0" + text, float(value), int(value), f"{value:E}", f"{value:f}"]


@st.composite
def _bent(draw: st.DrawFn, value: Any) -> Any:
    """`value` with a few of its parts, at any depth, in another form or gone."""
    if isinstance(value, dict):
        out = {k: draw(_bent(v)) for k, v in value.items()}
        if out and draw(st.integers(0, 9)) == 0:
            del out[draw(st.sampled_from(sorted(out)))]
        if draw(st.integers(0, 19)) == 0:
            out["unknown"] = draw(_json)
        return out
    if isinstance(value, list):
        return [draw(_bent(v)) for v in value]
    change = draw(st.integers(0, 7))
    if change == 0 and isinstance(value, str):
        return draw(st.sampled_from(_forms(value)))
    if change == 1:
        return draw(_odd_text | _json)
    return value


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_a_payload_the_ledger_would_not_write_decodes_as_before(name: str, data: Any) -> None:
    cls = EVENT_TYPES[name]
    # json, not orjson: a bent payload may hold an integer beyond 64 bits
    raw = json.dumps(data.draw(_bent(orjson.loads(encode_data(data.draw(events(cls))))))).encode()
    try:
        want = decode_data(name, cls.schema_version, raw)
    except ValidationError:
        with pytest.raises(ValidationError):
            decode_logged(name, cls.schema_version, raw)
        return
    _same(decode_logged(name, cls.schema_version, raw), want)


def test_every_event_type_has_the_fast_path() -> None:
    from shared.events.trusted import _supported

    assert [n for n in NAMES if _supported(EVENT_TYPES[n]) is None] == []


def test_an_old_schema_is_upcast_and_validated() -> None:
    raw = b'{"expense_id": "e", "project_id": "p", "expense_type": "x", "planned_amount": "5"}'
    got = decode_logged("ExpenseRecorded", 1, raw)
    assert got == decode_data("ExpenseRecorded", 1, raw)
    assert got.model_fields_set == {"expense_id", "project_id", "expense_type", "planned_amount"}


def _as_logged(event: HoursLogged) -> LoggedHours:
    return LoggedHours(*(getattr(event, name) for name in LoggedHours._fields))


@SETTINGS
@given(data=st.data())
def test_bare_hours_are_what_the_validating_decode_gives(data: Any) -> None:
    """`logged_hours` (a replay's read of HoursLogged) answers as `build`: the same
    values, Decimal places included, for what the ledger writes; None for the rest."""
    event = data.draw(events(HoursLogged))
    raw = encode_data(event)
    if data.draw(st.booleans()):  # bent: another form, a key more or less
        raw = json.dumps(data.draw(_bent(orjson.loads(raw)))).encode()
    fast = build(HoursLogged, raw)
    bare = logged_hours(raw)
    if fast is None:
        assert bare is None
        return
    assert bare is not None
    assert repr(bare) == repr(_as_logged(fast))


_HOURS = {
    "hour_id": "h",
    "owner_id": "u",
    "task_id": "t",
    "entry_date": "2024-01-02",
    "hours": "1.5",
}


@pytest.mark.parametrize(
    "change",
    [
        {"unknown": 1},
        {"counts_as_revenue": None},
        {"counts_as_revenue": 1},
        {"hours": 1.5},
        {"hours": "1.50"},
        {"hour_id": 7},
        {"role_id": 7},
        {"project_id": ["p"]},
        {"entry_date": "20240102"},
        {"entry_date": "2024-02-30"},
        {"owner_id": None},
    ],
    ids=repr,
)
def test_bare_hours_refuse_what_the_fast_decode_refuses(change: dict[str, Any]) -> None:
    raw = orjson.dumps({**_HOURS, **change})
    assert build(HoursLogged, raw) is None
    assert logged_hours(raw) is None


@pytest.mark.parametrize("missing", ["hour_id", "owner_id", "entry_date", "hours"])
def test_bare_hours_need_every_required_field(missing: str) -> None:
    raw = orjson.dumps({k: v for k, v in _HOURS.items() if k != missing})
    assert build(HoursLogged, raw) is None
    assert logged_hours(raw) is None


def test_bare_hours_keep_the_defaults() -> None:
    got = logged_hours(orjson.dumps(_HOURS))
    assert got == LoggedHours("h", "u", "t", None, date(2024, 1, 2), Decimal("1.5"), None, True)
