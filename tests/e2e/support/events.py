"""Builders of the events clients post (events.md), as plain JSON envelopes."""

from __future__ import annotations

import uuid
from typing import Any

Event = dict[str, Any]


def new_id(prefix: str) -> str:
    """An id no other test of the session uses (the system is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def event(type_: str, **data: Any) -> Event:
    return {"event_id": str(uuid.uuid4()), "type": type_, "data": data}


def period(value: str, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value}
    if start is not None:
        out["start_date"] = start
    if end is not None:
        out["end_date"] = end
    return out


def rates(level: str, rate_type: str, *periods: dict[str, Any], **target: str) -> Event:
    return event("RatesSet", level=level, rate_type=rate_type, periods=list(periods), **target)


def flat(value: str) -> dict[str, Any]:
    """A one-period table valid on every date."""
    return period(value)


def role(role_id: str, name: str = "role") -> Event:
    return event("JobRoleDefined", role_id=role_id, name=name)


def user(user_id: str, primary: str | None = None, *others: str) -> Event:
    data: dict[str, Any] = {"user_id": user_id, "name": user_id}
    if primary is not None:
        data["primary_role_id"] = primary
    if others:
        data["other_role_ids"] = list(others)
    return event("UserDefined", **data)


def company(company_id: str) -> Event:
    return event("CompanyDefined", company_id=company_id, name=company_id)


def project(project_id: str, **fields: Any) -> Event:
    return event("ProjectCreated", project_id=project_id, name=project_id, **fields)


def task(task_id: str, project_id: str, **fields: Any) -> Event:
    return event("TaskCreated", task_id=task_id, project_id=project_id, name=task_id, **fields)


def assign(
    user_id: str | None = None, role_id: str | None = None, percent: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if user_id is not None:
        out["user_id"] = user_id
    if role_id is not None:
        out["role_id"] = role_id
    if percent is not None:
        out["allocation_percent"] = percent
    return out


def hours(
    hour_id: str,
    owner: str,
    amount: str,
    day: str = "2023-06-19",
    *,
    task_id: str | None = None,
    project_id: str | None = None,
    **fields: Any,
) -> Event:
    target = {"task_id": task_id} if task_id is not None else {"project_id": project_id}
    return event(
        "HoursLogged",
        hour_id=hour_id,
        owner_id=owner,
        entry_date=day,
        hours=amount,
        **target,
        **fields,
    )


def expense(expense_id: str, project_id: str, **fields: Any) -> Event:
    fields.setdefault("expense_type", "travel")
    return event("ExpenseRecorded", expense_id=expense_id, project_id=project_id, **fields)


def record(record_id: str, project_id: str, **fields: Any) -> Event:
    return event(
        "BillingRecordCreated",
        billing_record_id=record_id,
        project_id=project_id,
        description=record_id,
        **fields,
    )


def items(record_id: str, *, removed: bool = False, **ids: list[str]) -> Event:
    kind = "BillingRecordItemsRemoved" if removed else "BillingRecordItemsAdded"
    return event(kind, billing_record_id=record_id, **ids)


def record_status(record_id: str, status: str) -> Event:
    return event("BillingRecordStatusChanged", billing_record_id=record_id, status=status)


def task_status(task_id: str, status: str) -> Event:
    return event("TaskStatusChanged", task_id=task_id, status=status)


def task_updated(task_id: str, **fields: Any) -> Event:
    return event("TaskUpdated", task_id=task_id, **fields)


def task_moved(task_id: str, to_project_id: str) -> Event:
    return event("TaskMoved", task_id=task_id, to_project_id=to_project_id)


def project_status(project_id: str, status: str) -> Event:
    return event("ProjectStatusChanged", project_id=project_id, status=status)


def project_updated(project_id: str, **fields: Any) -> Event:
    return event("ProjectUpdated", project_id=project_id, **fields)


def hours_edited(hour_id: str, **fields: Any) -> Event:
    return event("HoursEdited", hour_id=hour_id, **fields)


def user_roles(user_id: str, primary: str | None, *others: str) -> Event:
    return event(
        "UserRolesChanged", user_id=user_id, primary_role_id=primary, other_role_ids=list(others)
    )


class Ids:
    """Ids of one test: `ids("h1")` is the same unique id every time within the test,
    and differs from every other test's `"h1"` (hour and other ids are global)."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]

    def __call__(self, name: str) -> str:
        return f"{name}-{self.tag}"
