"""Billing records and their items (R7)."""

from __future__ import annotations

from datetime import date

from shared.events.base import EventData, register
from shared.events.types import BillingStatus, Id, Money


@register
class BillingRecordCreated(EventData):
    billing_record_id: Id
    project_id: Id
    description: str
    billing_date: date | None = None
    po_number: str | None = None
    invoice_id: str | None = None
    additional_amount: Money | None = None


@register
class BillingRecordUpdated(EventData):
    billing_record_id: Id
    description: str | None = None
    billing_date: date | None = None
    po_number: str | None = None
    invoice_id: str | None = None
    additional_amount: Money | None = None


class _Items(EventData):
    billing_record_id: Id
    hour_ids: tuple[Id, ...] = ()
    expense_ids: tuple[Id, ...] = ()
    task_ids: tuple[Id, ...] = ()


@register
class BillingRecordItemsAdded(_Items):
    pass


@register
class BillingRecordItemsRemoved(_Items):
    pass


@register
class BillingRecordStatusChanged(EventData):
    billing_record_id: Id
    status: BillingStatus
