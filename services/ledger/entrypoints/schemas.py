"""The ledger's request and response bodies as models: what OpenAPI shows. The routes
build their answers as plain JSON (`json_response`); the schemathesis run checks every
answer against these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.types import Id, RecalcScope


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppendedEvent(_Body):
    event_id: str = Field(description="the event's id (the client's, or one made for it)")
    position: int = Field(ge=1, description="its position in the log")
    stream: str
    version: int = Field(ge=1, description="its version in its stream")
    duplicate: bool | None = Field(
        None, description="true when this event_id was appended before: nothing new was"
    )


class Appended(_Body):
    """201 (200 when every event is a duplicate): the events in the batch's order; a
    recalculation naming several projects is one event a project."""

    events: list[AppendedEvent]


class RecordedEnvelope(_Body):
    position: int = Field(ge=1)
    event_id: str
    type: str
    schema_version: int = Field(ge=1)
    stream: str
    version: int = Field(ge=1)
    recorded_at: datetime
    actor: str = Field(description="the token subject that appended it")
    data: dict[str, Any] = Field(description="the event's fields (docs/contract.md#events)")


class EventPage(_Body):
    events: list[RecordedEnvelope]
    next_after: int = Field(ge=0, description="`after` for the next page")


class RecalculateBody(_Body):
    """Optional: an empty body recalculates all (cost and revenue)."""

    scope: RecalcScope = Field("all", description="`planned`: the plan only (R6.2)")
    event_id: str | None = Field(
        None, description="a UUID: a retry with the same one is answered as a duplicate"
    )


class BulkRecalculateBody(RecalculateBody):
    project_ids: tuple[Id, ...] = Field(min_length=1, max_length=1000)


class RecalculationAccepted(_Body):
    position: int = Field(ge=1, description="the request's position in the log")
    duplicate: bool | None = None


class RecalculationsAccepted(_Body):
    positions: list[int] = Field(description="one a project, in the order named")
