"""Billing records and their items (R7).

Rules: docs/rules.md#r7; fields: docs/contract.md#events.
"""

from __future__ import annotations

from shared.events.base import EventData, register
from shared.events.types import BillingStatus, BusinessDate, Id, Money, Text


@register
class BillingRecordCreated(EventData):
    billing_record_id: Id
    project_id: Id
    description: Text
    billing_date: BusinessDate | None = None
    po_number: Text | None = None
    invoice_id: Text | None = None
    additional_amount: Money | None = None


@register
class BillingRecordUpdated(EventData):
    billing_record_id: Id
    description: Text | None = None
    billing_date: BusinessDate | None = None
    po_number: Text | None = None
    invoice_id: Text | None = None
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
