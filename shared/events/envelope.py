"""The envelope the ledger puts around every appended event (docs/contract.md#envelope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from shared.events.base import EventData

if TYPE_CHECKING:
    from shared.events.hours import HoursLogged
    from shared.events.trusted import LoggedHours


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One event of the log, as appended: immutable, totally ordered by position."""

    position: int
    event_id: str
    stream: str
    version: int
    recorded_at: datetime
    actor: str
    data: EventData

    @property
    def type(self) -> str:
        return self.data.event_type

    @property
    def schema_version(self) -> int:
        return self.data.schema_version


class HoursLoggedAt(NamedTuple):
    """An `HoursLogged` event of the log with only what a replay reads of its envelope:
    three quarters of a project's events are these (`eventlog.read_history`)."""

    position: int
    stream: str
    data: HoursLogged | LoggedHours


def stream_key(stream: str) -> str:
    """Kafka key of a stream: the project id for project streams, else the stream id."""
    prefix, _, rest = stream.partition("-")
    return rest if prefix == "project" else stream


def project_of_stream(stream: str) -> str | None:
    prefix, _, rest = stream.partition("-")
    return rest if prefix == "project" else None
