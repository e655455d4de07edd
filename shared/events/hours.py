"""Hour entries and expenses (R2, R3.2).

Rules: docs/rules.md#r2, #r3.2; fields: docs/contract.md#events.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from shared.events.base import EventData, register
from shared.events.types import BusinessDate, Hours, Id, Money, Text


@register
class HoursLogged(EventData):
    hour_id: Id
    owner_id: Id
    task_id: Id | None = None
    project_id: Id | None = None
    entry_date: BusinessDate
    hours: Hours
    role_id: Id | None = None
    counts_as_revenue: bool = True

    @model_validator(mode="after")
    def _one_target(self) -> HoursLogged:
        if (self.task_id is None) == (self.project_id is None):
            raise ValueError("give exactly one of task_id and project_id")
        return self


@register
class HoursEdited(EventData):
    hour_id: Id
    hours: Hours | None = None
    entry_date: BusinessDate | None = None
    role_id: Id | None = None
    counts_as_revenue: bool | None = None


@register
class HoursDeleted(EventData):
    hour_id: Id


#: An ISO 4217 code, e.g. "EUR".
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


@register
class ExpenseRecorded(EventData):
    """Schema v2 added `currency` (None: the installation's currency, R3.4); stored v1
    payloads are upcast on read (`shared.events.upcasters`)."""

    schema_version: ClassVar[int] = 2

    expense_id: Id
    project_id: Id
    task_id: Id | None = None
    expense_type: Text
    description: Text | None = None
    planned_amount: Money | None = None
    actual_amount: Money | None = None
    planned_date: BusinessDate | None = None
    paid_date: BusinessDate | None = None
    billable: bool = False
    reimbursable: bool = False
    currency: Currency | None = None


@register
class ExpenseUpdated(EventData):
    expense_id: Id
    task_id: Id | None = None
    expense_type: Text | None = None
    description: Text | None = None
    planned_amount: Money | None = None
    actual_amount: Money | None = None
    planned_date: BusinessDate | None = None
    paid_date: BusinessDate | None = None
    billable: bool | None = None
    reimbursable: bool | None = None


@register
class ExpenseDeleted(EventData):
    expense_id: Id
