"""Building what the log holds without validating it again.

The ledger appends `encode_data` of a model it validated, so a payload stored at the
current schema is already in canonical form: an amount as the string `str(Decimal)`
gives after `_normalise`, a date as `YYYY-MM-DD`, only known keys. Validating it
again costs most of a read of the log (replay, `as_of`). `build(cls, raw)` parses it
with orjson and converts each field with a converter made once from the model's
annotations, then sets the instance's state as pydantic's validation does (values,
fields set).

It answers None for anything not in that form, and the caller then takes the
validating decode (`codec.decode_data`, with its relaxed fallback): an unknown or
missing key, a value of another type, a value not written as the ledger writes it
(an amount "30.00" or 30, a date "20240101"), or a model whose validators it cannot
mirror. So the result is always what the validating decode gives, fields set
included (tests/unit/events/test_trusted_decode.py). Input limits are not checked: on a
canonical value they only accept or refuse, and a refused stored value decodes
anyway (`stored.py`), to the same value. Model validators of mode "after" are
skipped for the same reason: they check, they do not change.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache, partial
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, PlainValidator, WrapValidator

from shared.events.hours import HoursLogged
from shared.events.types import _iso_date, _no_nul, _normalise, _plain_number

Converter = Callable[[Any], Any]
Field = tuple[type, bool, Converter | None]
"""How one field is read: the type its JSON value must have (str, bool, int, list or
dict), whether it may be null, and the converter of that value (None: itself)."""


class _Refused(Exception):
    """This value is not as the ledger writes it: decode the payload by validation."""


class _Unsupported(Exception):
    """A model this module cannot mirror: its payloads are always validated."""


# Validators that only accept or refuse a value (or, `_normalise`, that the converter
# of an amount reproduces). Any other validator makes the model unsupported.
_CHECKS = {_plain_number, _iso_date, _no_nul}
_VALIDATORS = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)


def _canonical(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite() or str(value) != text:
        raise _Refused
    return value


@lru_cache(maxsize=1 << 16)
def _plain_decimal(text: str) -> Decimal:
    return _canonical(text)


@lru_cache(maxsize=1 << 16)
def _normal_decimal(text: str) -> Decimal:
    """An amount as `_normalise` leaves it (the form the ledger writes)."""
    value = _canonical(text)
    if str(_normalise(value)) != text:
        raise _Refused
    return value


@lru_cache(maxsize=1 << 16)
def _date(text: str) -> date:
    value = date.fromisoformat(text)
    if value.isoformat() != text:
        raise _Refused
    return value


def _literal(allowed: frozenset[str]) -> Converter:
    def convert(value: str) -> str:
        if value not in allowed:
            raise _Refused
        return value

    return convert


def _tuple(item: Field) -> Converter:
    return lambda values: tuple(_read(item, v) for v in values)


def _field(annotation: Any, metadata: Sequence[Any] = (), nullable: bool = False) -> Field:
    """How to read a field annotated `annotation` (with pydantic's `metadata`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        return _field(base, [*metadata, *more], nullable)
    funcs = {m.func for m in metadata if isinstance(m, _VALIDATORS)}
    if not funcs <= _CHECKS | {_normalise}:
        raise _Unsupported(f"validators {funcs}")
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        if len(args) != 2 or type(None) not in args:
            raise _Unsupported(f"union {annotation}")
        inner = next(a for a in args if a is not type(None))
        return _field(inner, metadata, nullable=True)
    if origin is tuple:
        args = get_args(annotation)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise _Unsupported(f"tuple {annotation}")
        return list, nullable, _tuple(_field(args[0]))
    if origin is Literal:
        allowed = frozenset(get_args(annotation))
        if not all(type(a) is str for a in allowed):
            raise _Unsupported(f"literal {annotation}")
        return str, nullable, _literal(allowed)
    if annotation is Decimal:
        return str, nullable, _normal_decimal if _normalise in funcs else _plain_decimal
    if annotation is date:
        return str, nullable, _date
    if annotation in (str, bool, int):
        return annotation, nullable, None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict, nullable, partial(_make, _plan(annotation))
    raise _Unsupported(f"type {annotation}")


def _read(field: Field, value: Any) -> Any:
    kind, nullable, convert = field
    if type(value) is not kind:
        if value is None and nullable:
            return None
        raise _Refused
    return value if convert is None else convert(value)


_IMMUTABLE = (type(None), bool, int, str, Decimal, date, tuple)


@dataclass(frozen=True)
class _Plan:
    cls: type[BaseModel]
    fields: dict[str, Field]
    required: frozenset[str]
    defaults: dict[str, Any]
    """Every field in declaration order, a required one as None (always overwritten)."""


@cache
def _plan(cls: type[BaseModel]) -> _Plan:
    decorators = cls.__pydantic_decorators__
    if (
        any(d.info.mode != "after" for d in decorators.model_validators.values())
        or decorators.field_validators
        or decorators.validators
        or decorators.root_validators
        or cls.__pydantic_post_init__
        or cls.__private_attributes__
        or cls.__pydantic_root_model__
        or cls.model_config.get("extra") == "allow"
    ):
        raise _Unsupported(f"{cls.__name__} has validators or state of its own")
    fields: dict[str, Field] = {}
    defaults: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.alias or info.validation_alias or info.default_factory is not None:
            raise _Unsupported(f"{cls.__name__}.{name}")
        fields[name] = _field(info.annotation, info.metadata)
        if info.is_required():
            defaults[name] = None
        elif isinstance(info.default, _IMMUTABLE):
            defaults[name] = info.default
        else:
            raise _Unsupported(f"{cls.__name__}.{name} default")
    required = frozenset(n for n, i in cls.model_fields.items() if i.is_required())
    return _Plan(cls, fields, required, defaults)


_set = object.__setattr__


def _make(plan: _Plan, payload: dict[str, Any]) -> BaseModel:
    fields_set = set(payload)
    if not plan.required <= fields_set:
        raise _Refused
    fields = plan.fields
    values = plan.defaults.copy()
    for name, value in payload.items():
        kind, nullable, convert = fields[name]  # `_read` inlined; KeyError: unknown key
        if type(value) is not kind:
            if value is None and nullable:
                values[name] = None
                continue
            raise _Refused
        values[name] = value if convert is None else convert(value)
    instance = plan.cls.__new__(plan.cls)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", fields_set)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


@cache
def _supported(cls: type[BaseModel]) -> _Plan | None:
    try:
        return _plan(cls)
    except _Unsupported:
        return None


def build(cls: type[BaseModel], raw: str | bytes) -> Any:
    """The instance of `cls` that validating the stored payload `raw` gives, or None
    when `raw` is not in the form the ledger writes (then validate it)."""
    plan = _supported(cls)
    if plan is None:
        return None
    try:
        payload = orjson.loads(raw)
        return _make(plan, payload) if type(payload) is dict else None
    # LookupError: an unknown key; ValueError: bad JSON (orjson's) or a bad date.
    except (_Refused, LookupError, ValueError, TypeError, ArithmeticError):
        return None


# -- the most frequent event, without a model ------------------------------------------


class LoggedHours(NamedTuple):
    """The fields of a stored `HoursLogged` payload, as `build(HoursLogged, raw)` gives
    them (the same attribute names, so a reader takes either). A replay reads one per
    hour entry of the log: a tuple costs a fraction of a model (docs/decisions.md)."""

    hour_id: str
    owner_id: str
    task_id: str | None
    project_id: str | None
    entry_date: date
    hours: Decimal
    role_id: str | None
    counts_as_revenue: bool


@cache
def _hours_plan() -> tuple[frozenset[str], Converter, Converter]:
    """The keys, and the converters of `entry_date` and `hours`: the ones `build`
    uses, so both refuse the same values."""
    plan = _plan(HoursLogged)
    assert plan.required == {"hour_id", "owner_id", "entry_date", "hours"}, "read below"
    date_, hours = plan.fields["entry_date"][2], plan.fields["hours"][2]
    assert date_ is not None and hours is not None
    return frozenset(plan.fields), date_, hours


def logged_hours(raw: str | bytes) -> LoggedHours | None:
    """What `build(HoursLogged, raw)` gives, as a `LoggedHours`; None where it gives
    None (then validate the payload)."""
    keys, to_date, to_hours = _hours_plan()
    try:
        p = orjson.loads(raw)
        if type(p) is not dict or not keys.issuperset(p):  # a required key: KeyError below
            return None
        hour_id, owner_id, entry_date, hours = (
            p["hour_id"],
            p["owner_id"],
            p["entry_date"],
            p["hours"],
        )
        task_id, project_id, role_id = p.get("task_id"), p.get("project_id"), p.get("role_id")
        counts = p.get("counts_as_revenue", True)
        if (
            type(hour_id) is not str
            or type(owner_id) is not str
            or type(entry_date) is not str
            or type(hours) is not str
            or type(counts) is not bool
            or (task_id is not None and type(task_id) is not str)
            or (project_id is not None and type(project_id) is not str)
            or (role_id is not None and type(role_id) is not str)
        ):
            return None
        return LoggedHours(
            hour_id,
            owner_id,
            task_id,
            project_id,
            to_date(entry_date),
            to_hours(hours),
            role_id,
            counts,
        )
    except (_Refused, LookupError, ValueError, TypeError, ArithmeticError):
        return None
