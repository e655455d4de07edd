"""Random valid histories for the as-of property test: a small organisation, 1–3
projects, and a mix of every kind of event. Validity is the ledger's business: the
test appends through its `GroupCommit` and drops what R9 refuses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import EVENT_TYPES, EventData

ROLES = ("r1", "r2")
USERS = ("u1", "u2", "u3")
PROJECTS = ("p1", "p2", "p3")
TASKS = ("t1", "t2", "t3", "t4")
HOURS = ("h1", "h2", "h3", "h4", "h5", "h6")
EXPENSES = ("x1", "x2")
RECORDS = ("b1", "b2", "b3")
MONDAY = date(2023, 6, 19)
ITEMS = {"hour_ids": ("h1", "h1", "h2", "h3"), "expense_ids": ("x1",), "task_ids": ("t2", "t3")}

COST_TYPES = ("user_hourly", "role_hourly", "fixed_hourly", "no_cost")
REVENUE_TYPES = (
    "user_hourly",
    "role_hourly",
    "user_hourly_cap",
    "role_hourly_cap",
    "user_hourly_plus_fixed",
    "role_hourly_plus_fixed",
    "fixed_hourly",
    "fixed_revenue",
    "not_billable",
)

PREAMBLE: list[tuple[str, dict[str, Any]]] = [
    ("JobRoleDefined", {"role_id": "r1", "name": "Consultant"}),
    ("JobRoleDefined", {"role_id": "r2", "name": "Designer"}),
    ("UserDefined", {"user_id": "u1", "name": "Ana", "primary_role_id": "r1"}),
    ("UserDefined", {"user_id": "u2", "name": "Bo", "primary_role_id": "r2"}),
    ("UserDefined", {"user_id": "u3", "name": "Cy", "other_role_ids": ["r1"]}),
    ("CompanyDefined", {"company_id": "c1", "name": "Acme"}),
    (
        "RatesSet",
        {"level": "role", "rate_type": "cost", "role_id": "r1", "periods": [{"value": "20"}]},
    ),
    (
        "RatesSet",
        {
            "level": "user",
            "rate_type": "billing",
            "user_id": "u1",
            "periods": [{"value": "30", "end_date": "2023-06-25"}],
        },
    ),
    (
        "RatesSet",
        {"level": "role", "rate_type": "billing", "role_id": "r2", "periods": [{"value": "45.5"}]},
    ),
    (
        "ProjectCreated",
        {"project_id": "p1", "name": "One", "planned_start": "2023-06-19", "company_id": "c1"},
    ),
    ("ProjectCreated", {"project_id": "p2", "name": "Two", "fixed_revenue": "100"}),
    (
        "TaskCreated",
        {
            "task_id": "t1",
            "project_id": "p1",
            "name": "Build",
            "planned_hours": "8",
            "assignments": [{"user_id": "u1"}],
        },
    ),
    (
        "TaskCreated",
        {
            "task_id": "t2",
            "project_id": "p1",
            "name": "Design",
            "planned_hours": "4",
            "planned_start": "2023-06-20",
            "planned_completion": "2023-06-23",
            "cost_type": "role_hourly",
            "revenue_type": "role_hourly_cap",
            "revenue_amount": "100",
            "assignments": [{"role_id": "r2"}, {"user_id": "u2"}],
        },
    ),
    (
        "TaskCreated",
        {
            "task_id": "t3",
            "project_id": "p2",
            "name": "Run",
            "revenue_type": "user_hourly_plus_fixed",
            "revenue_amount": "50",
        },
    ),
    (
        "HoursLogged",
        {
            "hour_id": "h1",
            "owner_id": "u1",
            "task_id": "t1",
            "entry_date": "2023-06-20",
            "hours": "2",
        },
    ),
    (
        "HoursLogged",
        {
            "hour_id": "h2",
            "owner_id": "u2",
            "task_id": "t2",
            "entry_date": "2023-06-26",
            "hours": "1.5",
        },
    ),
    (
        "BillingRecordCreated",
        {"billing_record_id": "b1", "project_id": "p1", "description": "June"},
    ),
]

day = st.integers(0, 20).map(lambda n: (MONDAY + timedelta(days=n)).isoformat())
money = st.sampled_from(["0", "10", "25.5", "40", "100.25", "333"])
hours_value = st.sampled_from(["0.5", "1", "1.25", "2", "3.33", "8"])


@st.composite
def periods(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 2))
    if count == 0:
        return []
    if count == 1:
        start = draw(st.none() | day)
        return [{"value": draw(money), "start_date": start}]
    cut = draw(st.integers(1, 19))
    first_end = (MONDAY + timedelta(days=cut - 1)).isoformat()
    second_start = (MONDAY + timedelta(days=cut + draw(st.integers(0, 2)))).isoformat()
    return [
        {"value": draw(money), "end_date": first_end},
        {"value": draw(money), "start_date": second_start},
    ]


def _pick(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def assignments(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        item: dict[str, Any] = {}
        user = draw(_opt(_pick(*USERS)))
        role = draw(_opt(_pick(*ROLES)))
        if user is None and role is None:
            user = "u1"
        if user:
            item["user_id"] = user
        if role:
            item["role_id"] = role
        pct = draw(_opt(st.sampled_from(["25", "50", "100"])))
        if pct:
            item["allocation_percent"] = pct
        out.append(item)
    return out


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@st.composite
def one_event(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(
        st.sampled_from(
            [
                "rates",
                "rates",
                "rates",
                "user_roles",
                "project",
                "project_update",
                "project_status",
                "task",
                "task",
                "task_update",
                "task_status",
                "move",
                "hours",
                "hours",
                "hours",
                "hours_edit",
                "hours_delete",
                "expense",
                "expense_update",
                "record",
                "items_add",
                "items_add",
                "items_remove",
                "record_status",
                "record_status",
                "recalc",
                "recalc",
            ]
        )
    )
    project = draw(_pick("p1", "p1", "p2", "p2", "p3"))
    if kind == "rates":
        level = draw(_pick("role", "user", "company_role", "project_role"))
        rate_type = "billing" if level in ("company_role", "project_role") else None
        data: dict[str, Any] = {
            "level": level,
            "rate_type": rate_type or draw(_pick("cost", "billing")),
            "periods": draw(periods()),
        }
        if level in ("role", "company_role", "project_role"):
            data["role_id"] = draw(_pick(*ROLES))
        if level == "user":
            data["user_id"] = draw(_pick(*USERS))
        if level == "company_role":
            data["company_id"] = "c1"
        if level == "project_role":
            data["project_id"] = project
        return "RatesSet", data
    if kind == "user_roles":
        return "UserRolesChanged", {
            "user_id": draw(_pick(*USERS)),
            "primary_role_id": draw(_opt(_pick(*ROLES))),
            "other_role_ids": draw(st.lists(_pick(*ROLES), max_size=1)),
        }
    if kind == "project":
        return "ProjectCreated", _drop_none(
            {
                "project_id": project,
                "name": project.upper(),
                "company_id": draw(_opt(st.just("c1"))),
                "planned_start": draw(_opt(day)),
                "budget": draw(_opt(money)),
                "fixed_cost": draw(_opt(money)),
                "fixed_revenue": draw(_opt(money)),
                "billed_locks_cost": draw(st.booleans()),
                "follow_company_rate_changes": draw(st.booleans()),
            }
        )
    if kind == "project_update":
        field = draw(_pick("company_id", "budget", "fixed_revenue", "billed_locks_cost", "follow"))
        value: Any = {
            "company_id": draw(_opt(st.just("c1"))),
            "budget": draw(money),
            "fixed_revenue": draw(money),
            "billed_locks_cost": draw(st.booleans()),
            "follow": draw(st.booleans()),
        }[field]
        name = "follow_company_rate_changes" if field == "follow" else field
        return "ProjectUpdated", {"project_id": project, name: value}
    if kind == "project_status":
        status = draw(_pick("planning", "current", "on_hold", "complete", "dead"))
        return "ProjectStatusChanged", {"project_id": project, "status": status}
    task = draw(_pick(*TASKS))
    if kind == "task":
        start = draw(_opt(day))
        return "TaskCreated", _drop_none(
            {
                "task_id": task,
                "project_id": project,
                "name": task,
                "planned_hours": draw(_pick("0", "4", "10", "16.5")),
                "planned_start": start,
                "planned_completion": start and draw(_opt(st.just(start))),
                "cost_type": draw(st.sampled_from(COST_TYPES)),
                "revenue_type": draw(st.sampled_from(REVENUE_TYPES)),
                "fixed_hourly_cost": draw(_opt(money)),
                "revenue_amount": draw(_opt(money)),
                "assignments": draw(assignments()),
            }
        )
    if kind == "task_update":
        field = draw(_pick("planned_hours", "revenue_type", "revenue_amount", "assignments"))
        value = {
            "planned_hours": draw(_pick("2", "8")),
            "revenue_type": draw(st.sampled_from(REVENUE_TYPES)),
            "revenue_amount": draw(money),
            "assignments": draw(assignments()),
        }[field]
        return "TaskUpdated", {"task_id": task, field: value}
    if kind == "task_status":
        status = draw(_pick("new", "in_progress", "complete", "dead"))
        return "TaskStatusChanged", {"task_id": task, "status": status}
    if kind == "move":
        return "TaskMoved", {"task_id": task, "to_project_id": project}
    hour = draw(_pick(*HOURS))
    if kind == "hours":
        target = {"task_id": task} if draw(st.booleans()) else {"project_id": project}
        return "HoursLogged", _drop_none(
            {
                "hour_id": hour,
                "owner_id": draw(_pick(*USERS)),
                **target,
                "entry_date": draw(day),
                "hours": draw(hours_value),
                "role_id": draw(_opt(_pick(*ROLES))),
                "counts_as_revenue": draw(st.booleans() | st.just(True)),
            }
        )
    if kind == "hours_edit":
        field = draw(_pick("hours", "entry_date", "role_id", "counts_as_revenue"))
        value = {
            "hours": draw(hours_value),
            "entry_date": draw(day),
            "role_id": draw(_opt(_pick(*ROLES))),
            "counts_as_revenue": draw(st.booleans()),
        }[field]
        return "HoursEdited", {"hour_id": hour, field: value}
    if kind == "hours_delete":
        return "HoursDeleted", {"hour_id": hour}
    expense = draw(_pick("x1", "x1", "x2"))
    if kind == "expense":
        return "ExpenseRecorded", _drop_none(
            {
                "expense_id": expense,
                "project_id": project,
                "task_id": draw(_opt(_pick(*TASKS))),
                "expense_type": "travel",
                "paid_date": draw(_opt(day)),
                "planned_amount": draw(_opt(money)),
                "actual_amount": draw(_opt(money)),
                "billable": draw(st.booleans() | st.just(True)),
            }
        )
    if kind == "expense_update":
        return "ExpenseUpdated", {"expense_id": expense, "actual_amount": draw(money)}
    record = draw(_pick("b1", "b1", "b1", "b2", "b3"))
    if kind == "record":
        return "BillingRecordCreated", _drop_none(
            {
                "billing_record_id": record,
                "project_id": project,
                "description": "invoice",
                "additional_amount": draw(_opt(money)),
            }
        )
    if kind in ("items_add", "items_remove"):
        # one item at a time: a batch with one ineligible item is refused whole
        items = draw(
            st.sampled_from(["hour_ids", "hour_ids", "expense_ids", "task_ids"]).flatmap(
                lambda key: st.just({key: [draw(_pick(*ITEMS[key]))]})
            )
        )
        name = "BillingRecordItemsAdded" if kind == "items_add" else "BillingRecordItemsRemoved"
        return name, {"billing_record_id": record, **items}
    if kind == "record_status":
        status = draw(_pick("billed", "not_billed"))
        return "BillingRecordStatusChanged", {"billing_record_id": record, "status": status}
    scope = draw(_pick("all", "planned"))
    return "FinancesRecalculationRequested", {"project_ids": [project], "scope": scope}


def parsed(items: list[tuple[str, dict[str, Any]]]) -> list[EventData]:
    """The payloads the schema accepts (the HTTP layer would answer 422 to the rest)."""
    out = []
    for name, data in items:
        try:
            out.append(EVENT_TYPES[name].model_validate(data))
        except ValidationError:
            continue
    return out


histories = st.lists(one_event(), min_size=5, max_size=26)
