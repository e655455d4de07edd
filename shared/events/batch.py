"""The body of `POST /v1/events` as one model: a batch of envelopes, a discriminated
union on `type` of every event a client may post (docs/contract.md#http).

This is the contract OpenAPI shows (`/openapi.json`, `/docs`). The ledger reads the
body itself (`services/ledger/entrypoints/parsing.py`), to answer each refusal with
the error shape and the event index of the contract; a test checks that the two agree
on what they accept.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.events.base import EVENT_TYPES, EventData
from shared.events.examples import example_of

#: events one request may carry
MAX_BATCH = 1000


def _envelope(cls: type[EventData]) -> type[BaseModel]:
    name = cls.event_type
    example: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=1)),
        "type": name,
        "data": example_of(name),
    }
    model: type[BaseModel] = create_model(
        f"{name}Envelope",
        __config__=ConfigDict(
            extra="forbid",
            title=f"{name} envelope",
            json_schema_extra={"examples": [example]},
        ),
        __doc__=f"A {name} to append. {(cls.__doc__ or '').strip()}",
        event_id=(
            uuid.UUID | None,
            Field(
                None,
                description="the client's id of this event: a retry with the same id is"
                " answered as a duplicate, never appended twice (one is made when absent)",
            ),
        ),
        type=(Literal[name], Field(description="the event type")),  # type: ignore[arg-type]
        data=(cls, Field(description="the event's fields (docs/contract.md#events)")),
    )
    return model


def input_types() -> list[type[EventData]]:
    """Every event type a client may post, in registration order."""
    return [cls for cls in EVENT_TYPES.values() if not cls.internal]


ENVELOPES = tuple(_envelope(cls) for cls in input_types())

InputEvent = Annotated[Union[ENVELOPES], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


class EventBatch(BaseModel):
    """1 to 1,000 events, appended all or none."""

    model_config = ConfigDict(extra="forbid")
    events: list[InputEvent] = Field(min_length=1, max_length=MAX_BATCH)


def batch_examples() -> dict[str, Any]:
    """OpenAPI `examples` of the request body: one single-event batch a type."""
    return {
        cls.event_type: {
            "summary": cls.event_type,
            "value": {"events": [{"type": cls.event_type, "data": example_of(cls.event_type)}]},
        }
        for cls in input_types()
    }
