"""Event sequences of the worked examples (examples.md), with random ids, and the
stream each event goes to (as the ledger files it). Shared by the recalc contract,
unit and integration tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    EventData,
    FinancesRecalculationRequested,
    HoursLogged,
    ProjectCreated,
    RatePeriod,
    RatesSet,
    TaskCreated,
    TaskMoved,
    UserDefined,
)

Item = EventData | tuple[EventData, str]

_STREAM_FIELDS = (
    ("project_id", "project"),
    ("user_id", "user"),
    ("company_id", "company"),
    ("role_id", "role"),
)


def stream_of(data: EventData, project: str | None = None) -> str:
    """The stream an event belongs to (events.md); `project` for task/hour/record events."""
    if project is not None:
        return f"project-{project}"
    if data.event_type == "RatesSet":
        level = getattr(data, "level")  # noqa: B009
        field = {
            "role": "role_id",
            "user": "user_id",
            "company_role": "company_id",
            "project_role": "project_id",
        }[level]
        return f"{field.removesuffix('_id')}-{getattr(data, field)}"
    if data.event_type == "FinancesRecalculationRequested":
        return f"project-{getattr(data, 'project_ids')[0]}"  # noqa: B009
    for field, prefix in _STREAM_FIELDS:
        value = getattr(data, field, None)
        if value is not None:
            return f"{prefix}-{value}"
    raise ValueError(f"no stream for {data!r}")


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Ids:
    project: str
    user: str
    task: str
    record: str


def ids() -> Ids:
    return Ids(rid("p"), rid("u"), rid("t"), rid("br"))


def billing(user: str, value: str) -> RatesSet:
    return RatesSet(
        level="user", rate_type="billing", user_id=user, periods=(RatePeriod(value=Decimal(value)),)
    )


def hours(hour_id: str, i: Ids, amount: str, task: str | None = None) -> Item:
    return (
        HoursLogged(
            hour_id=hour_id,
            owner_id=i.user,
            task_id=task or i.task,
            entry_date=date(2023, 6, 20),
            hours=Decimal(amount),
        ),
        i.project,
    )


def e1(i: Ids) -> list[Item]:
    """E1: planned revenue 60.00, actual revenue 45.00."""
    return [
        UserDefined(user_id=i.user, name="U"),
        billing(i.user, "30.00"),
        ProjectCreated(project_id=i.project, name="P"),
        TaskCreated(
            task_id=i.task,
            project_id=i.project,
            name="T",
            planned_hours=Decimal(2),
            planned_start=date(2023, 6, 19),
            planned_completion=date(2023, 6, 19),
            assignments=(Assignment(user_id=i.user),),
        ),
        hours(rid("h"), i, "1.5"),
    ]


def e9_before_recalc(i: Ids, *, billed: bool) -> list[Item]:
    """E9 (and E10 with `billed`): 10 h at 50, the rate becomes 75, 2 h at 75."""
    first = rid("h")
    items: list[Item] = [
        UserDefined(user_id=i.user, name="U"),
        billing(i.user, "50.00"),
        ProjectCreated(project_id=i.project, name="P"),
        TaskCreated(task_id=i.task, project_id=i.project, name="T"),
        hours(first, i, "10"),
        billing(i.user, "75.00"),
        hours(rid("h"), i, "2"),
    ]
    if billed:
        items += [
            (
                BillingRecordCreated(
                    billing_record_id=i.record, project_id=i.project, description="June"
                ),
                i.project,
            ),
            (BillingRecordItemsAdded(billing_record_id=i.record, hour_ids=(first,)), i.project),
            (BillingRecordStatusChanged(billing_record_id=i.record, status="billed"), i.project),
        ]
    return items


def recalc(i: Ids) -> Item:
    return FinancesRecalculationRequested(project_ids=(i.project,))


def move(i: Ids, target: str) -> Item:
    return (TaskMoved(task_id=i.task, to_project_id=target), i.project)
