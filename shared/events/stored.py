"""Decoding what the log holds, whatever today's input limits say.

The log is the truth: an event that an older ledger accepted must always decode,
even when a later release refuses such a value at the door (the input limits of
`types.py`: amounts, dates, text lengths). Otherwise a single stored value would stop
every reader of the log: the worker's catch-up of reference data, `as_of`, replay.

`relaxed(cls)` is a twin of an event model with the same fields and types but none
of the limits; `decode_stored` validates with it and builds the real classes from
the result, so callers get the usual `EventData` instances. It is the fallback of
`codec.decode_data`, taken only when the strict decode refuses a stored payload.
Whether pricing can then carry the value is pricing's business: a project it cannot
price is parked alone (`services/recalc/service_layer/isolation.py`).
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, create_model


class _Lax(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _relax(annotation: Any) -> Any:
    """`annotation` without its constraints: Annotated metadata dropped, models
    replaced by their relaxed twins, through unions and tuples."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _relax(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return relaxed(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_relax(a) for a in get_args(annotation))]  # noqa: UP007
    if origin is tuple:
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple[_relax(args[0]), ...]  # type: ignore[misc]
        return tuple[tuple(_relax(a) for a in args)]  # type: ignore[misc]
    return annotation  # Decimal, date, str, bool, Literal[...]: no constraint to drop


@cache
def relaxed(cls: type[BaseModel]) -> type[BaseModel]:
    """The twin of `cls` with every field's constraints dropped (defaults kept)."""
    fields: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        annotation = _relax(info.annotation)
        if info.is_required():
            fields[name] = (annotation, ...)
        else:
            fields[name] = (annotation, info.get_default(call_default_factory=True))
    twin: type[BaseModel] = create_model(f"Stored{cls.__name__}", __base__=_Lax, **fields)
    twin.__real__ = cls  # type: ignore[attr-defined]
    return twin


def _real(value: Any) -> Any:
    """Relaxed twins back into the real classes (unvalidated: they were, by the twin)."""
    if isinstance(value, _Lax):
        real: type[BaseModel] = type(value).__real__  # type: ignore[attr-defined]
        values = {name: _real(getattr(value, name)) for name in type(value).model_fields}
        return real.model_construct(_fields_set=set(value.model_fields_set), **values)
    if isinstance(value, tuple):
        return tuple(_real(v) for v in value)
    return value


def decode_stored(cls: type[BaseModel], payload: dict[str, Any]) -> Any:
    """`payload` as an instance of `cls`, validated for type and shape only."""
    return _real(relaxed(cls).model_validate(payload))
