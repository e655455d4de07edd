"""Columns of the projection tables and the conversions between rows and domain lines.

Each table is described once (column, PostgreSQL type, how to read it from a line)
so that bulk writes (`unnest` of one array per column) and loads stay in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from services.recalc.domain.project_lines import Sums as Sums  # (re-exported)
from services.recalc.domain.project_lines import sums_of as sums_of
from services.recalc.domain.rates import Period, RateTable
from services.recalc.domain.state import (
    Assignment,
    BillingRecordState,
    ExpenseState,
    HourEntry,
    LineSums,
    ProjectInfo,
    TaskState,
)
from services.recalc.domain.views import RecordView, TaskView
from shared.events import ProjectTotals


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    pg_type: str  # element type of the array it is written with
    get: Callable[[Any], Any]


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, name)


def _cols(spec: str, **special: Callable[[Any], Any]) -> tuple[Column, ...]:
    out = []
    for item in spec.split():
        name, pg_type = item.split(":")
        out.append(Column(name, pg_type, special.get(name, _attr(name))))
    return tuple(out)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def assignments_json(assignments: tuple[Assignment, ...]) -> str:
    return orjson.dumps(
        [
            {"user_id": a.user_id, "role_id": a.role_id, "allocation": _dec(a.allocation_percent)}
            for a in assignments
        ]
    ).decode()


def _json(raw: Any) -> Any:
    # The engine's asyncpg connections decode jsonb themselves; plain ones give text.
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


def assignments_from(raw: Any) -> tuple[Assignment, ...]:
    return tuple(
        Assignment(
            a["user_id"],
            a["role_id"],
            None if a["allocation"] is None else Decimal(a["allocation"]),
        )
        for a in _json(raw)
    )


def overrides_json(overrides: Mapping[str, RateTable]) -> str:
    return orjson.dumps(
        {
            role: [
                {
                    "value": str(p.value),
                    "start": p.start.isoformat() if p.start else None,
                    "end": p.end.isoformat() if p.end else None,
                }
                for p in table
            ]
            for role, table in overrides.items()
        }
    ).decode()


def _day(raw: str | None) -> date | None:
    return None if raw is None else date.fromisoformat(raw)


def overrides_from(raw: Any) -> dict[str, RateTable]:
    return {
        role: tuple(Period(Decimal(p["value"]), _day(p["start"]), _day(p["end"])) for p in periods)
        for role, periods in _json(raw).items()
    }


# Project rows carry (info, applied position, totals): see `project_row`.
PROJECT = _cols(
    "project_id:text name:text status:text company_id:text company_attached_at:bigint"
    " planned_start:date planned_completion:date budget:numeric fixed_cost:numeric"
    " fixed_revenue:numeric billed_locks_cost:boolean follow_company_rate_changes:boolean"
    " role_overrides:jsonb hours_priced_at:bigint",
    role_overrides=lambda info: overrides_json(info.role_overrides),
)
TOTAL_FIELDS = tuple(ProjectTotals.model_fields)
# `fixed_cost`, `fixed_revenue` and `budget` are also info columns (raw, maybe unset).
_RENAMED = {"fixed_cost": "fixed_cost_total", "fixed_revenue": "fixed_revenue_total"}
_RENAMED["budget"] = "budget_total"
TOTAL_COLUMNS = tuple(_RENAMED.get(f, f) for f in TOTAL_FIELDS)

TASK = _cols(
    "task_id:text project_id:text name:text status:text planned_hours:numeric"
    " planned_start:date planned_completion:date cost_type:text revenue_type:text"
    " fixed_hourly_cost:numeric revenue_amount:numeric assignments:jsonb planned_cost:numeric"
    " planned_hourly_revenue:numeric plan_priced_at:bigint billing_record_id:text",
    assignments=lambda t: assignments_json(t.assignments),
)
TASK_VIEW = _cols(
    "view_planned_cost:numeric view_planned_revenue:numeric view_actual_hours:numeric"
    " view_actual_cost:numeric view_actual_revenue:numeric",
    view_planned_cost=_attr("planned_cost"),
    view_planned_revenue=_attr("planned_revenue"),
    view_actual_hours=_attr("actual_hours"),
    view_actual_cost=_attr("actual_cost"),
    view_actual_revenue=_attr("actual_revenue"),
)
#: running sums of a task's hour entries, read from a `Sums` tuple (`sums_of`)
TASK_SUMS = _cols(
    "line_count:bigint line_hours:numeric line_cost:numeric line_revenue:numeric",
    line_count=lambda s: s[0],
    line_hours=lambda s: s[1],
    line_cost=lambda s: s[2],
    line_revenue=lambda s: s[3],
)
#: the same sums of the hours on the project itself, on its row
OWN_SUMS = tuple(Column(c.name.replace("line_", "own_"), c.pg_type, c.get) for c in TASK_SUMS)


def sums_from(row: Mapping[str, Any], prefix: str) -> LineSums:
    return LineSums(
        count=row[f"{prefix}count"],
        hours=row[f"{prefix}hours"],
        cost=row[f"{prefix}cost"],
        revenue=row[f"{prefix}revenue"],
    )


HOUR = _cols(
    "hour_id:text project_id:text task_id:text owner_id:text entry_date:date hours:numeric"
    " role_id:text counts_as_revenue:boolean cost:numeric revenue:numeric cost_rate:numeric"
    " billing_rate:numeric cost_rate_source:text billing_rate_source:text priced_at:bigint"
    " billing_record_id:text kept:boolean"
)
#: An hour row's `priced_at` as readers see it: its own when the last recalculation
#: kept it (or none re-priced the project), else the later of its own and that
#: recalculation's position. A recalculation writes its position once, on the
#: project row, instead of on every entry it re-priced at the same prices.
PRICED_AT = "CASE WHEN h.kept THEN h.priced_at ELSE greatest(h.priced_at, p.hours_priced_at) END"
EXPENSE = _cols(
    "expense_id:text project_id:text task_id:text expense_type:text description:text"
    " planned_amount:numeric actual_amount:numeric planned_date:date paid_date:date"
    " billable:boolean reimbursable:boolean billing_record_id:text"
)
RECORD = _cols(
    "billing_record_id:text project_id:text description:text status:text billing_date:date"
    " po_number:text invoice_id:text additional_amount:numeric"
)
RECORD_ITEMS = _cols(
    "hour_ids:text[] expense_ids:text[] task_ids:text[]",
    hour_ids=lambda r: orjson.dumps(list(r.hour_ids)).decode(),
    expense_ids=lambda r: orjson.dumps(list(r.expense_ids)).decode(),
    task_ids=lambda r: orjson.dumps(list(r.task_ids)).decode(),
)
RECORD_VIEW = _cols(
    "view_billable_hours_amount:numeric view_billable_expenses_amount:numeric"
    " view_fixed_revenue_amount:numeric view_additional_amount:numeric view_total:numeric",
    view_billable_hours_amount=_attr("billable_hours_amount"),
    view_billable_expenses_amount=_attr("billable_expenses_amount"),
    view_fixed_revenue_amount=_attr("fixed_revenue_amount"),
    view_additional_amount=_attr("additional_amount"),
    view_total=_attr("total"),
)


def info_from(row: Mapping[str, Any]) -> ProjectInfo:
    return ProjectInfo(
        project_id=row["project_id"],
        name=row["name"],
        status=row["status"],
        company_id=row["company_id"],
        company_attached_at=row["company_attached_at"],
        planned_start=row["planned_start"],
        planned_completion=row["planned_completion"],
        budget=row["budget"],
        fixed_cost=row["fixed_cost"],
        fixed_revenue=row["fixed_revenue"],
        billed_locks_cost=row["billed_locks_cost"],
        follow_company_rate_changes=row["follow_company_rate_changes"],
        role_overrides=overrides_from(row["role_overrides"]),
        hours_priced_at=row["hours_priced_at"],
    )


def totals_from(row: Mapping[str, Any]) -> ProjectTotals:
    return ProjectTotals(**{f: row[c] for f, c in zip(TOTAL_FIELDS, TOTAL_COLUMNS, strict=True)})


def _pick(row: Mapping[str, Any], columns: tuple[Column, ...]) -> dict[str, Any]:
    return {c.name: row[c.name] for c in columns}


def task_from(row: Mapping[str, Any]) -> TaskState:
    values = _pick(row, TASK)
    values["assignments"] = assignments_from(values["assignments"])
    return TaskState(**values)


def task_view_from(row: Mapping[str, Any]) -> TaskView:
    return TaskView(
        task_id=row["task_id"],
        project_id=row["project_id"],
        name=row["name"],
        status=row["status"],
        planned_hours=row["planned_hours"],
        actual_hours=row["view_actual_hours"],
        planned_cost=row["view_planned_cost"],
        planned_revenue=row["view_planned_revenue"],
        actual_cost=row["view_actual_cost"],
        actual_revenue=row["view_actual_revenue"],
    )


def hour_from(row: Mapping[str, Any]) -> HourEntry:
    return HourEntry(**_pick(row, HOUR))


def expense_from(row: Mapping[str, Any]) -> ExpenseState:
    return ExpenseState(**_pick(row, EXPENSE))


def record_from(row: Mapping[str, Any]) -> BillingRecordState:
    values = _pick(row, RECORD)
    return BillingRecordState(
        **values,
        hour_ids=list(row["hour_ids"]),
        expense_ids=list(row["expense_ids"]),
        task_ids=list(row["task_ids"]),
    )


def record_view_from(row: Mapping[str, Any]) -> RecordView:
    return RecordView(
        billing_record_id=row["billing_record_id"],
        project_id=row["project_id"],
        description=row["description"],
        status=row["status"],
        hour_ids=tuple(row["hour_ids"]),
        expense_ids=tuple(row["expense_ids"]),
        task_ids=tuple(row["task_ids"]),
        billable_hours_amount=row["view_billable_hours_amount"],
        billable_expenses_amount=row["view_billable_expenses_amount"],
        fixed_revenue_amount=row["view_fixed_revenue_amount"],
        additional_amount=row["view_additional_amount"],
        total=row["view_total"],
    )
