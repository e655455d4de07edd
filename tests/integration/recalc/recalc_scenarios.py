"""Event sequences of the worked examples (examples.md), with random ids."""

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
