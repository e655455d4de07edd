"""Response bodies of the finance reads, built from row mappings.

The live reads pass database rows; `as_of` reads pass mappings with the same keys,
built from a replayed book (`service_layer.asof`). One function per body, so both
answers are formatted by the same code and compare equal to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.recalc.adapters.projection_rows import TOTAL_COLUMNS, TOTAL_FIELDS

Row = Mapping[str, Any]

_CENT = Decimal("0.01")
_RATE = Decimal("0.0001")


def money(value: Decimal | None) -> str:
    return str((value or Decimal(0)).quantize(_CENT, rounding=ROUND_HALF_UP))


def rate(value: Decimal | None) -> str | None:
    """2 to 4 decimal places (R10.7): 30 -> "30.00", 12.345 -> "12.345"."""
    if value is None:
        return None
    text = str(value.quantize(_RATE, rounding=ROUND_HALF_UP))
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


def hours(value: Decimal) -> str:
    """Hours without trailing zeros ("1.5", "8"): a running sum and a fresh sum of the
    same entries are equal in value but may differ in their exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _as_of(body: dict[str, Any], as_of: int | None) -> dict[str, Any]:
    if as_of is not None:
        body["as_of"] = as_of
    return body


def finances_body(project: Row, as_of: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_id": project["project_id"],
        "position": project["applied_position"],
    }
    for name, column in zip(TOTAL_FIELDS, TOTAL_COLUMNS, strict=True):
        body[name] = money(project[column])
    return _as_of(body, as_of)


def task_item(t: Row) -> dict[str, Any]:
    return {
        "task_id": t["task_id"],
        "name": t["name"],
        "status": t["status"],
        "planned_hours": hours(t["planned_hours"]),
        "actual_hours": hours(t["view_actual_hours"]),
        "planned_cost": money(t["view_planned_cost"]),
        "planned_revenue": money(t["view_planned_revenue"]),
        "actual_cost": money(t["view_actual_cost"]),
        "actual_revenue": money(t["view_actual_revenue"]),
    }


def tasks_body(project: Row, tasks: Iterable[Row], as_of: int | None = None) -> dict[str, Any]:
    body = {
        "project_id": project["project_id"],
        "position": project["applied_position"],
        "tasks": [task_item(t) for t in tasks],
    }
    return _as_of(body, as_of)


def hour_item(h: Row) -> dict[str, Any]:
    return {
        "hour_id": h["hour_id"],
        "task_id": h["task_id"],
        "owner_id": h["owner_id"],
        "entry_date": h["entry_date"].isoformat(),
        "hours": hours(h["hours"]),
        "role_id": h["role_id"],
        "counts_as_revenue": h["counts_as_revenue"],
        "cost": money(h["cost"]),
        "revenue": money(h["revenue"]),
        "cost_rate": rate(h["cost_rate"]),
        "billing_rate": rate(h["billing_rate"]),
        "cost_rate_source": h["cost_rate_source"],
        "billing_rate_source": h["billing_rate_source"],
        "priced_at": h["priced_at"],
        "billing_record_id": h["billing_record_id"],
        "locked_by": h["locked_by"],
    }


def hours_body(project: Row, rows: Iterable[Row], as_of: int | None = None) -> dict[str, Any]:
    body = {
        "project_id": project["project_id"],
        "position": project["applied_position"],
        "hours": [hour_item(h) for h in rows],
    }
    return _as_of(body, as_of)


def record_body(row: Row, position: int | None, as_of: int | None = None) -> dict[str, Any]:
    body = {
        "billing_record_id": row["billing_record_id"],
        "project_id": row["project_id"],
        "position": position,
        "description": row["description"],
        "status": row["status"],
        "billing_date": row["billing_date"].isoformat() if row["billing_date"] else None,
        "po_number": row["po_number"],
        "invoice_id": row["invoice_id"],
        "hour_ids": list(row["hour_ids"]),
        "expense_ids": list(row["expense_ids"]),
        "task_ids": list(row["task_ids"]),
        "billable_hours_amount": money(row["view_billable_hours_amount"]),
        "billable_expenses_amount": money(row["view_billable_expenses_amount"]),
        "fixed_revenue_amount": money(row["view_fixed_revenue_amount"]),
        "additional_amount": money(row["view_additional_amount"]),
        "total": money(row["view_total"]),
    }
    return _as_of(body, as_of)
