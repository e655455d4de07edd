"""Upcasting: old stored payload shapes are lifted to the current one on read.

The log is never rewritten. When an event's payload shape changes, its class's
`schema_version` is raised and an upcaster from the previous version is
registered here; stored events keep the version they were written with, and
`upcast` applies the chain of upcasters before the payload is validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register `fn` as the step from `from_version` to `from_version + 1`."""

    def wrap(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise ValueError(f"two upcasters for {key}")
        UPCASTERS[key] = fn
        return fn

    return wrap


def upcast(event_type: str, version: int, target: int, payload: Payload) -> Payload:
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload
