"""Building blocks for write-model tests: events from plain dicts, a seeded model."""

from __future__ import annotations

from typing import Any

import pytest

from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_model import WriteModel
from shared.events import EventData, parse_data


def ev(type_name: str, **data: Any) -> EventData:
    return parse_data(type_name, data)


def ok(model: WriteModel, *events: EventData) -> list[tuple[str, int]]:
    model.begin()
    out = [model.decide(e) for e in events]
    model.commit(model.position + len(events))
    return out


def refused(model: WriteModel, event: EventData) -> RuleViolation:
    model.begin()
    with pytest.raises(RuleViolation) as info:
        model.decide(event)
    model.rollback()
    return info.value


def seeded() -> WriteModel:
    """Role R, user U (primary R), company C, project P (company C) and Q, tasks:
    T (user_hourly) and F (fixed_revenue) in P, N (not_billable) in P, a record B in P."""
    m = WriteModel()
    ok(
        m,
        ev("JobRoleDefined", role_id="R", name="Consultant"),
        ev("UserDefined", user_id="U", name="Ursula", primary_role_id="R"),
        ev("CompanyDefined", company_id="C", name="Acme"),
        ev("ProjectCreated", project_id="P", name="P", company_id="C"),
        ev("ProjectCreated", project_id="Q", name="Q"),
        ev("TaskCreated", task_id="T", project_id="P", name="T"),
        ev(
            "TaskCreated",
            task_id="F",
            project_id="P",
            name="F",
            revenue_type="fixed_revenue",
            revenue_amount="1000",
        ),
        ev("TaskCreated", task_id="N", project_id="P", name="N", revenue_type="not_billable"),
        ev("BillingRecordCreated", billing_record_id="B", project_id="P", description="June"),
    )
    return m


def log_hour(m: WriteModel, hour_id: str, task: str = "T", **extra: Any) -> None:
    ok(
        m,
        ev(
            "HoursLogged",
            hour_id=hour_id,
            owner_id="U",
            task_id=task,
            entry_date="2023-06-19",
            hours="2",
            **extra,
        ),
    )


def add_items(record: str = "B", **items: list[str]) -> EventData:
    return ev("BillingRecordItemsAdded", billing_record_id=record, **items)


def bill(m: WriteModel, record: str = "B", status: str = "billed") -> None:
    ok(m, ev("BillingRecordStatusChanged", billing_record_id=record, status=status))
