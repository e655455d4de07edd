"""Money stays exact (issue 9): no float dtype anywhere in the columnar money path.

A realistic project (every rate level, periods, four-place rates, a billed record)
is priced as columns both ways the recalculation does it (`columns.price`, and
`hour_table.from_entries` + `reprice`), and every numpy array reachable from the
results is walked generically, field by field: a float field added to any of these
dataclasses later fails here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from recalc_log import Log, period, rates

from services.recalc.domain import columns, hour_table
from services.recalc.domain.columns import (
    EntryColumns,
    Priced,
    RateArrays,
    Rates,
    TaskColumns,
    entry_columns,
    price,
    rate_arrays,
    task_columns,
)
from services.recalc.domain.hour_table import HourTable, Repriced, from_entries, reprice
from shared.events import (
    Assignment,
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordStatusChanged,
    CompanyDefined,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    TaskCreated,
    UserDefined,
)

COLUMN_TYPES = {HourTable, Priced, Repriced, Rates, RateArrays, TaskColumns, EntryColumns}
USERS = ("U0", "U1", "U2", "U3")
ROLES = ("R0", "R1", "R2")


def _project() -> Log:
    log = Log()
    log(CompanyDefined(company_id="Co", name="Co"))
    for r in ROLES:
        log(JobRoleDefined(role_id=r, name=r))
        log(rates("role", "cost", period("41.1234", end="2023-06-15"), role_id=r))
        log(rates("role", "billing", "99.995", role_id=r))
        log(rates("company_role", "billing", "120.5", company_id="Co", role_id=r))
    for i, u in enumerate(USERS):
        log(UserDefined(user_id=u, name=u, primary_role_id=ROLES[i % 3]))
        if i % 2:
            log(rates("user", "cost", period("33.3333", "2023-06-05", "2023-06-20"), user_id=u))
            log(rates("user", "billing", "0", user_id=u))  # a real zero (R4.2)
    log(ProjectCreated(project_id="P", name="P", company_id="Co", billed_locks_cost=True))
    log(
        rates(
            "project_role",
            "billing",
            period("150.0001", "2023-06-10", "2023-06-12"),
            period("175", "2023-06-20", "2023-06-25"),
            project_id="P",
            role_id="R1",
        )
    )
    kinds = [
        ("user_hourly", "user_hourly"),
        ("role_hourly", "role_hourly_cap"),
        ("fixed_hourly", "fixed_hourly"),
        ("no_cost", "role_hourly_plus_fixed"),
        ("user_hourly", "not_billable"),
    ]
    for t, (cost_type, revenue_type) in enumerate(kinds):
        log(
            TaskCreated(
                task_id=f"T{t}",
                project_id="P",
                name="T",
                cost_type=cost_type,
                revenue_type=revenue_type,
                fixed_hourly_cost=Decimal("12.3456"),
                revenue_amount=Decimal("500"),
                assignments=(Assignment(user_id=USERS[t % 4], role_id=ROLES[t % 3]),),
            )
        )
    for n in range(300):
        on_task = {"task_id": f"T{n % 5}"} if n % 7 else {"project_id": "P"}
        log(
            HoursLogged(
                hour_id=f"h{n}",
                owner_id=USERS[n % 4],
                entry_date=date(2023, 6, 1) + timedelta(days=n % 30),
                hours=Decimal(n % 2400 + 1).scaleb(-2),
                role_id=ROLES[n % 3] if n % 2 else None,
                counts_as_revenue=n % 11 != 0,
                **on_task,
            )
        )
    log(BillingRecordCreated(billing_record_id="B", project_id="P", description="June"))
    log(BillingRecordItemsAdded(billing_record_id="B", hour_ids=("h1", "h2", "h3")))
    log(BillingRecordStatusChanged(billing_record_id="B", status="billed"))
    log(rates("user", "cost", "50", user_id="U0"))  # so that a recalculation changes some
    return log


def _arrays(value: Any, path: str, seen: set[type]) -> Iterator[tuple[str, np.ndarray]]:
    """Every numpy array reachable from `value`, by path; no Python float either."""
    assert not isinstance(value, float | np.floating), f"{path} is a float: {value!r}"
    if isinstance(value, np.ndarray):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        seen.add(type(value))
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}", seen)
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _arrays(item, f"{path}[{i}]", seen)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays(item, f"{path}[{key!r}]", seen)


def _assert_exact(**values: Any) -> set[type]:
    seen: set[type] = set()
    found = 0
    for name, value in values.items():
        for path, array in _arrays(value, name, seen):
            found += 1
            # i: signed, u: unsigned integers, b: bool; never f (float) nor c, O, M...
            assert array.dtype.kind in "iub", f"{path} has dtype {array.dtype}"
    assert found > 20
    return seen


def test_no_float_dtype_in_the_columnar_money_path() -> None:
    log = _project()
    state = log.book.projects["P"]
    hours = list(state.hours.values())
    tasks = list(state.tasks.values())
    users = {u: i for i, u in enumerate(USERS)}
    roles = {r: i for i, r in enumerate(ROLES)}

    # columns.price, from entry objects
    entries = entry_columns(hours, {t.task_id: i for i, t in enumerate(tasks)}, users, roles)
    task_cols = task_columns(tasks, users, roles)
    arrays = rate_arrays(log.reference, state.info, log.position, USERS, ROLES)
    priced = price(entries, task_cols, arrays)
    seen = _assert_exact(entries=entries, tasks=task_cols, rates=arrays, priced=priced)

    # the recalculation's table: from_entries + reprice, as `recalc` runs it
    table = from_entries(hours)
    done = reprice(
        table,
        np.ones(len(table), dtype=np.bool_),
        state.tasks,
        state.info,
        log.reference,
        log.position,
        {"B"},
    )
    assert done.changed.any() and done.locked == 3  # a real recalculation
    seen |= _assert_exact(table=table, repriced=done)
    assert seen >= COLUMN_TYPES, COLUMN_TYPES - seen


def test_no_column_dataclass_declares_a_float() -> None:
    """The declarations too: every field of the column types is an integer or bool
    array (or ids, codes and counts)."""
    for module in (columns, hour_table):
        for cls in vars(module).values():
            if isinstance(cls, type) and dataclasses.is_dataclass(cls):
                for f in dataclasses.fields(cls):
                    annotation = str(f.type).lower()
                    assert "float" not in annotation and "f8" not in annotation, (
                        f"{cls.__name__}.{f.name}: {f.type}"
                    )
