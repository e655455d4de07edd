"""One meaning, two speeds (issue 9): a recalculation that prices entries as columns
(`columns.price`, `hour_table.reprice`) gives every entry, view and total the scalar
`Pricer` gives, to the cent and to the written scale of every rate.

The centre is a property test: random histories (`recalc_histories`: every event
the book handles, every rate level with periods, gaps and zeros, billed locks, task
moves, recalculations) fed to a book that prices recalculations as columns and to
one that prices them with the scalar reference, compared after every event."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from recalc_histories import histories
from recalc_log import D, Log, period, rates

from services.recalc.domain import recalc as recalc_module
from services.recalc.domain.columns import (
    NotColumnar,
    Priced,
    entry_columns,
    price,
    rate_arrays,
    rate_of,
    task_columns,
)
from services.recalc.domain.finance_book import FinanceBook
from shared.events import (
    EventData,
    FinancesRecalculated,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursLogged,
    JobRoleDefined,
    ProjectCreated,
    TaskCreated,
    UserDefined,
)

BASE = date(2023, 6, 1)


# -- the two paths, event by event ---------------------------------------------------------


def _fields(line: Any) -> dict[str, str]:
    """Every field of a line as its repr: a Decimal's repr keeps its written scale
    (95 and 95.00 differ), so `str()` of every rate and amount is compared too."""
    return {f.name: repr(getattr(line, f.name)) for f in dataclasses.fields(line)}


def _project(book: FinanceBook, project_id: str) -> dict[str, Any]:
    """Everything a project shows, line by line and total by total."""
    state = book.projects[project_id]
    views = sorted(book.task_views(project_id), key=lambda v: v.task_id)
    return {
        "info": repr(state.info),
        "tasks": {k: _fields(t) for k, t in sorted(state.tasks.items())},
        "expenses": {k: _fields(e) for k, e in sorted(state.expenses.items())},
        "records": {k: _fields(r) for k, r in sorted(state.records.items())},
        "actuals": {str(k): _fields(v) for k, v in state.actuals.items()},
        "record_hours_revenue": repr(sorted(state.record_hours_revenue.items())),
        "totals": repr(book.totals(project_id)),
        "task_views": [_fields(v) for v in views],
        "record_views": [_fields(book.record_view(r)) for r in sorted(state.records)],
    }


def assert_same_project(columnar: FinanceBook, scalar: FinanceBook, project_id: str) -> None:
    got, want = columnar.projects[project_id], scalar.projects[project_id]
    assert got.hours.keys() == want.hours.keys()
    for hour_id, hour in want.hours.items():
        # cost, revenue, both rates with their scale, both sources, priced_at, kept
        assert _fields(got.hours[hour_id]) == _fields(hour), f"entry {hour_id}"
    mine, theirs = _project(columnar, project_id), _project(scalar, project_id)
    for name, value in theirs.items():
        assert mine[name] == value, f"{project_id}: {name}"
    # what the worker would write: the same lines, split the same way
    assert columnar.take_changes(project_id) == scalar.take_changes(project_id)


class _Counted:
    """Wraps `hour_table.reprice` as `recalc` calls it: the columnar book really
    priced its recalculations as columns (no silent fallback to the scalar path)."""

    def __init__(self, reprice: Any) -> None:
        self.reprice = reprice
        self.calls = 0

    def __call__(self, *args: Any, **kw: Any) -> Any:
        self.calls += 1
        return self.reprice(*args, **kw)


def run_both(events: list[EventData]) -> tuple[Log, Log, int]:
    """Feed `events` to a columnar and a scalar book, comparing them after each."""
    columnar, scalar = Log(columnar=True), Log(columnar=False)
    counted = _Counted(vars(recalc_module)["reprice"])
    for data in events:
        with mock.patch.object(recalc_module, "reprice", counted):
            got = columnar(data)
        want = scalar(data)
        # ProjectFinancesChanged totals, FinancesRecalculated before/after and its
        # hours_repriced / hours_locked
        assert [repr(e) for e in got] == [repr(e) for e in want], f"published at {data!r}"
        for project_id in scalar.book.projects:
            assert_same_project(columnar.book, scalar.book, project_id)
    return columnar, scalar, counted.calls


@settings(max_examples=150, deadline=None)
@given(histories())
def test_columns_price_like_the_scalar_reference(events: list[EventData]) -> None:
    _, scalar, priced_as_columns = run_both(events)
    recalculated = [
        e for e in scalar.published if isinstance(e, FinancesRecalculated) and e.scope == "all"
    ]
    # every recalculation of the entries went through the columns (none refused)
    assert priced_as_columns == len(recalculated)
    assert recalculated  # each history ends with one per project


def test_a_recalculation_sums_task_hours_again_as_the_scalar_path_writes_them() -> None:
    """Found by the property test above: the columns once kept the state's running sum
    of a task's hours (0.01 + 1 - 0.01 = 1.00) where the scalar path sums its entries
    again (1): same value, another written scale. Now both write 1."""
    events: list[EventData] = [
        UserDefined(user_id="U0", name="U0"),
        ProjectCreated(project_id="P", name="P"),
        TaskCreated(task_id="T", project_id="P", name="T"),
        HoursLogged(hour_id="a", owner_id="U0", task_id="T", entry_date=BASE, hours=D("0.01")),
        HoursLogged(hour_id="b", owner_id="U0", task_id="T", entry_date=BASE, hours=D("1")),
        HoursDeleted(hour_id="a"),
        FinancesRecalculationRequested(project_ids=("P",)),
    ]
    shown = []
    for columnar in (True, False):
        log = Log(columnar=columnar)
        for data in events:
            log(data)
        shown.append(str(log.task("T").actual_hours))
    assert shown[0] == shown[1], f"columns: {shown[0]}, scalar: {shown[1]}"


# -- the columns themselves -----------------------------------------------------------------


def _one_entry_log(*events: EventData) -> Log:
    log = Log()
    log(JobRoleDefined(role_id="R0", name="R0"))
    log(UserDefined(user_id="U0", name="U0", primary_role_id="R0"))
    log(ProjectCreated(project_id="P", name="P"))
    for data in events:
        log(data)
    log(TaskCreated(task_id="T0", project_id="P", name="T", revenue_type="role_hourly"))
    for day in ("2023-06-01", "2023-06-15", "2023-07-01"):
        log(
            HoursLogged(
                hour_id=f"h{day}",
                owner_id="U0",
                task_id="T0",
                entry_date=date.fromisoformat(day),
                hours=Decimal("1.5"),
            )
        )
    return log


def _priced(log: Log) -> Priced:
    state = log.book.projects["P"]
    users, roles = {"U0": 0}, {"R0": 0}
    tasks = list(state.tasks.values())
    entries = entry_columns(
        state.hours.values(), {t.task_id: i for i, t in enumerate(tasks)}, users, roles
    )
    arrays = rate_arrays(log.reference, state.info, log.position, ("U0",), ("R0",))
    return price(entries, task_columns(tasks, users, roles), arrays)


def test_amounts_round_half_up_and_rates_keep_their_places() -> None:  # R3.3
    log = _one_entry_log(
        rates("role", "cost", "12.3456", role_id="R0"),  # 1.5 h: 18.5184 -> 18.52
        rates("role", "billing", "0.0333", role_id="R0"),  # 1.5 h: 0.04995 -> 0.05
    )
    priced = _priced(log)
    assert priced.cost.tolist() == [1852] * 3
    assert priced.revenue.tolist() == [5] * 3
    assert (priced.cost_rate[0], priced.cost_places[0]) == (123_456, 4)
    assert (priced.billing_rate[0], priced.billing_places[0]) == (333, 4)
    # the scalar path agrees, and so does a recalculation as columns
    log(FinancesRecalculationRequested(project_ids=("P",)))
    hour = log.hour("h2023-06-01")
    assert (str(hour.cost), str(hour.revenue), str(hour.cost_rate)) == ("18.52", "0.05", "12.3456")


def test_overrides_apply_before_the_first_and_after_the_last_period() -> None:  # R4.6
    log = _one_entry_log(
        rates("role", "billing", "1", role_id="R0"),
        rates(
            "project_role",
            "billing",
            period("100", "2023-06-10", "2023-06-12"),
            period("200", "2023-06-20", "2023-06-22"),
            project_id="P",
            role_id="R0",
        ),
    )
    priced = _priced(log)
    # before the first: the first; in the gap: falls through to the role; after: the last
    assert priced.billing_rate.tolist() == [1_000_000, 10_000, 2_000_000]
    assert priced.billing_source.tolist() == [4, 2, 4]


def test_a_value_the_columns_cannot_hold_is_refused() -> None:
    assert rate_of(Decimal("12.3456")) == (123_456, 4)
    with pytest.raises(NotColumnar):
        rate_of(Decimal("0.00001"))  # five places: R3.2 allows four
    with pytest.raises(NotColumnar):
        rate_of(Decimal(-1))
