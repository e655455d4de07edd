"""Tally's published contract: every event type (docs/contract.md#events), its envelope and codec.

Importing this package registers every event class; it has no other side effect.
"""

from shared.events.base import EVENT_TYPES, EventData, as_dict
from shared.events.billing import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    BillingRecordUpdated,
)
from shared.events.codec import (
    UnknownEventType,
    decode_data,
    decode_envelope,
    encode_data,
    encode_envelope,
    encode_stored_envelope,
    envelope_dict,
    event_class,
    parse_data,
    schema_header,
)
from shared.events.envelope import HoursLoggedAt, RecordedEvent, project_of_stream, stream_key
from shared.events.hours import (
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
)
from shared.events.projects import (
    PLAN_FIELDS,
    ProjectCreated,
    ProjectStatusChanged,
    ProjectUpdated,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
)
from shared.events.recalc import (
    Cause,
    FinancesRecalculated,
    FinancesRecalculationRequested,
    ProjectFinancesChanged,
    ProjectTotals,
    RecalcReason,
)
from shared.events.reference import (
    CompanyDefined,
    JobRoleDefined,
    RatesSet,
    UserDefined,
    UserRolesChanged,
)
from shared.events.types import Assignment, RatePeriod

# Registers the upcasters of old payload shapes (after every event class).
from shared.events import upcasters  # noqa: F401  isort: skip

__all__ = [
    "EVENT_TYPES",
    "PLAN_FIELDS",
    "Assignment",
    "BillingRecordCreated",
    "BillingRecordItemsAdded",
    "BillingRecordItemsRemoved",
    "BillingRecordStatusChanged",
    "BillingRecordUpdated",
    "Cause",
    "CompanyDefined",
    "EventData",
    "ExpenseDeleted",
    "ExpenseRecorded",
    "ExpenseUpdated",
    "FinancesRecalculated",
    "FinancesRecalculationRequested",
    "HoursDeleted",
    "HoursEdited",
    "HoursLogged",
    "HoursLoggedAt",
    "JobRoleDefined",
    "ProjectCreated",
    "ProjectFinancesChanged",
    "ProjectStatusChanged",
    "ProjectTotals",
    "ProjectUpdated",
    "RatePeriod",
    "RatesSet",
    "RecalcReason",
    "RecordedEvent",
    "TaskCreated",
    "TaskMoved",
    "TaskStatusChanged",
    "TaskUpdated",
    "UnknownEventType",
    "UserDefined",
    "UserRolesChanged",
    "as_dict",
    "decode_data",
    "decode_envelope",
    "encode_data",
    "encode_envelope",
    "encode_stored_envelope",
    "envelope_dict",
    "event_class",
    "parse_data",
    "project_of_stream",
    "schema_header",
    "stream_key",
]
