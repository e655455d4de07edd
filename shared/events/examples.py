"""One example of every event a client may post, in an order the ledger accepts as one
history (a test posts them all in one batch): what OpenAPI shows beside each type of
`POST /v1/events`, and what a client developer can start from."""

from __future__ import annotations

from typing import Any

#: (type, data), one per input event type, in an order that makes a valid history
EXAMPLES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("JobRoleDefined", {"role_id": "designer", "name": "Designer"}),
    ("UserDefined", {"user_id": "ada", "name": "Ada", "primary_role_id": "designer"}),
    ("UserRolesChanged", {"user_id": "ada", "primary_role_id": "designer", "other_role_ids": []}),
    ("CompanyDefined", {"company_id": "acme", "name": "Acme Ltd"}),
    (
        "RatesSet",
        {
            "level": "role",
            "rate_type": "billing",
            "role_id": "designer",
            "periods": [
                {"value": "90.00", "end_date": "2026-12-31"},
                {"value": "95.00", "start_date": "2027-01-01"},
            ],
        },
    ),
    (
        "ProjectCreated",
        {
            "project_id": "website",
            "name": "New website",
            "status": "current",
            "company_id": "acme",
            "planned_start": "2026-11-02",
            "planned_completion": "2027-03-31",
            "budget": "50000.00",
        },
    ),
    ("ProjectUpdated", {"project_id": "website", "billed_locks_cost": True}),
    (
        "TaskCreated",
        {
            "task_id": "design",
            "project_id": "website",
            "name": "Design",
            "planned_hours": "40",
            "planned_start": "2026-11-02",
            "planned_completion": "2026-11-27",
            "assignments": [{"user_id": "ada"}],
        },
    ),
    ("TaskUpdated", {"task_id": "design", "planned_hours": "48"}),
    (
        "HoursLogged",
        {
            "hour_id": "h-1001",
            "owner_id": "ada",
            "task_id": "design",
            "entry_date": "2026-11-03",
            "hours": "7.5",
        },
    ),
    ("HoursEdited", {"hour_id": "h-1001", "hours": "8"}),
    (
        "ExpenseRecorded",
        {
            "expense_id": "x-1",
            "project_id": "website",
            "expense_type": "travel",
            "planned_amount": "400.00",
            "actual_amount": "380.00",
            "billable": True,
        },
    ),
    ("ExpenseUpdated", {"expense_id": "x-1", "actual_amount": "390.00"}),
    (
        "BillingRecordCreated",
        {
            "billing_record_id": "inv-11",
            "project_id": "website",
            "description": "November",
            "billing_date": "2026-11-30",
        },
    ),
    ("BillingRecordUpdated", {"billing_record_id": "inv-11", "po_number": "PO-7"}),
    (
        "BillingRecordItemsAdded",
        {"billing_record_id": "inv-11", "hour_ids": ["h-1001"], "expense_ids": ["x-1"]},
    ),
    ("BillingRecordItemsRemoved", {"billing_record_id": "inv-11", "expense_ids": ["x-1"]}),
    ("BillingRecordStatusChanged", {"billing_record_id": "inv-11", "status": "billed"}),
    ("TaskStatusChanged", {"task_id": "design", "status": "complete"}),
    ("ProjectStatusChanged", {"project_id": "website", "status": "on_hold"}),
    ("FinancesRecalculationRequested", {"project_ids": ["website"], "scope": "all"}),
    ("ProjectCreated", {"project_id": "website-2", "name": "Website, phase 2"}),
    ("TaskMoved", {"task_id": "design", "to_project_id": "website-2"}),
    ("ExpenseDeleted", {"expense_id": "x-1"}),
    (
        "HoursLogged",
        {
            "hour_id": "h-1002",
            "owner_id": "ada",
            "project_id": "website",
            "entry_date": "2026-11-04",
            "hours": "1",
        },
    ),
    ("HoursDeleted", {"hour_id": "h-1002"}),
)


def example_of(event_type: str) -> dict[str, Any]:
    """The first example's data of `event_type`."""
    return next(data for name, data in EXAMPLES if name == event_type)
