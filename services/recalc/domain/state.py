"""The priced state of one project: plain, mutable lines plus running aggregates.

The worker persists these lines and rebuilds a `ProjectState` with `restore`; the
aggregates make one hour entry an O(1) update however many entries the project has.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from services.recalc.domain.hour_table import HourTable
from services.recalc.domain.money import ZERO
from services.recalc.domain.money import optional_cents as money
from services.recalc.domain.project_lines import (
    Assignment,
    BillingRecordState,
    Changes,
    ExpenseState,
    HourEntry,
    LineSums,
    ProjectInfo,
    TaskState,
)

__all__ = [
    "ZERO",
    "Assignment",
    "BillingRecordState",
    "Changes",
    "ExpenseState",
    "HourEntry",
    "LineSums",
    "ProjectInfo",
    "ProjectState",
    "TaskState",
]


class _Tracker:
    """Ids changed or removed since the last take; a removal cancels a change."""

    __slots__ = ("changed", "removed")

    def __init__(self) -> None:
        self.changed: set[str] = set()
        self.removed: set[str] = set()

    def change(self, key: str) -> None:
        self.changed.add(key)
        self.removed.discard(key)

    def remove(self, key: str) -> None:
        self.removed.add(key)
        self.changed.discard(key)

    def take(self) -> tuple[frozenset[str], frozenset[str]]:
        out = frozenset(self.changed), frozenset(self.removed)
        self.changed.clear()
        self.removed.clear()
        return out


class ProjectState:
    """All lines of one project, their running sums, and what changed."""

    __slots__ = (
        "_expense_t",
        "_hour_full",
        "_hour_t",
        "_info_changed",
        "_record_t",
        "_repriced",
        "_restamped",
        "_task_t",
        "actuals",
        "columns",
        "dirty_tasks",
        "expense_actual",
        "expense_planned",
        "expenses",
        "hours",
        "hours_complete",
        "info",
        "record_expenses",
        "record_hours_revenue",
        "records",
        "task_figures",
        "task_figures_sum",
        "tasks",
        "whole_tasks",
    )

    def __init__(self, info: ProjectInfo) -> None:
        self.info = info
        self.tasks: dict[str, TaskState] = {}
        self.hours: dict[str, HourEntry] = {}
        #: Are all the project's hour entries in `hours`? A state restored light
        #: (`restore_light`) holds only those loaded for the events at hand; its
        #: running sums are complete all the same.
        self.hours_complete = True
        #: A light state's entries as columns, when an event needs them all (a
        #: recalculation): the entries it also holds as objects are the objects' own.
        self.columns: HourTable | None = None
        #: tasks all of whose entries a light state holds as objects (a task move)
        self.whole_tasks: set[str] = set()
        self.expenses: dict[str, ExpenseState] = {}
        self.records: dict[str, BillingRecordState] = {}
        #: actual hour sums by task id (None: hours on the project itself)
        self.actuals: dict[str | None, LineSums] = {}
        self.expense_planned = ZERO
        self.expense_actual = ZERO
        #: live R7.2 sums by billing record id
        self.record_hours_revenue: dict[str, Decimal] = {}
        self.record_expenses: dict[str, Decimal] = {}
        #: per task (planned cost, planned revenue, actual revenue) and their sum, kept
        #: by totals.py; a task whose lines or figures change is marked dirty
        self.task_figures: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        self.task_figures_sum = (ZERO, ZERO, ZERO)
        self.dirty_tasks: set[str] = set()
        self._info_changed = False
        #: hours changed otherwise than by a recalculation's prices (whole rows)
        self._hour_full: set[str] = set()
        self._repriced: set[str] = set()
        self._restamped: set[str] = set()
        self._task_t = _Tracker()
        self._hour_t = _Tracker()
        self._expense_t = _Tracker()
        self._record_t = _Tracker()

    @classmethod
    def restore(
        cls,
        info: ProjectInfo,
        tasks: Iterable[TaskState],
        hours: Iterable[HourEntry],
        expenses: Iterable[ExpenseState],
        records: Iterable[BillingRecordState],
    ) -> ProjectState:
        """Rebuild a state (and its sums) from stored lines; nothing counts as changed."""
        state = cls(info)
        state.tasks = {t.task_id: t for t in tasks}
        state.hours = {h.hour_id: h for h in hours}
        state.expenses = {e.expense_id: e for e in expenses}
        state.records = {r.billing_record_id: r for r in records}
        state.rebuild()
        return state

    @classmethod
    def restore_light(
        cls,
        info: ProjectInfo,
        tasks: Iterable[TaskState],
        expenses: Iterable[ExpenseState],
        records: Iterable[BillingRecordState],
        actuals: dict[str | None, LineSums],
        record_hours_revenue: dict[str, Decimal],
    ) -> ProjectState:
        """Rebuild a state without its hour entries, from their stored running sums
        (per task, None for the project itself, and per billing record)."""
        state = cls(info)
        state.tasks = {t.task_id: t for t in tasks}
        state.expenses = {e.expense_id: e for e in expenses}
        state.records = {r.billing_record_id: r for r in records}
        state.rebuild()
        state.actuals = {key: sums for key, sums in actuals.items() if sums.count}
        state.record_hours_revenue = dict(record_hours_revenue)
        state.hours_complete = False
        return state

    def hold_hours(self, hours: Iterable[HourEntry]) -> None:
        """Take in stored entries of a light state (already in its running sums)."""
        for hour in hours:
            self.hours.setdefault(hour.hour_id, hour)

    def complete_hours(self, hours: Iterable[HourEntry]) -> None:
        """Take in every stored entry of a light state: it is whole again. Its sums are
        the stored ones, which are the sums of these very entries (written in the same
        transaction), so nothing is summed again: a recalculation re-sums them anyway."""
        held = self.hours
        for hour in hours:
            if hour.hour_id not in held:
                held[hour.hour_id] = hour
        self.hours_complete = True

    def hold_columns(self, table: HourTable) -> None:
        """Take in every stored entry of a light state as columns (`hour_table`)."""
        self.columns = table

    def hold_task_hours(self, task_ids: Iterable[str], hours: Iterable[HourEntry]) -> None:
        """Take in every stored entry of these tasks (already in the running sums)."""
        self.hold_hours(hours)
        self.whole_tasks.update(task_ids)

    def held_hour_ids(self) -> set[str]:
        """Entries whose stored row no longer speaks for them: held as objects, or
        removed, since the last take."""
        return set(self.hours) | self._hour_t.removed

    def release_hours(self) -> None:
        """Forget the entries of a state (once they are stored); the sums remain."""
        self.hours = {}
        self.columns = None
        self.whole_tasks = set()
        self.hours_complete = False

    def require_task_hours(self, task_id: str, why: str) -> None:
        if task_id not in self.whole_tasks:
            self.require_hours(why)

    def require_hours(self, why: str) -> None:
        if not self.hours_complete:
            raise RuntimeError(
                f"{why} of project {self.info.project_id} needs all its hour entries;"
                " only some are held (see domain.needs)"
            )

    # -- aggregates ---------------------------------------------------------------

    def rebuild(self) -> None:
        """Recompute every running sum from the lines (after a bulk re-price)."""
        self.actuals = {}
        self.record_hours_revenue = {}
        self.record_expenses = {}
        self.expense_planned = ZERO
        self.expense_actual = ZERO
        self.task_figures = {}
        self.task_figures_sum = (ZERO, ZERO, ZERO)
        self.dirty_tasks = set(self.tasks)
        for hour in self.hours.values():
            self.account_hour(hour, 1)
        for expense in self.expenses.values():
            self.account_expense(expense, 1)

    def account_hour(self, hour: HourEntry, sign: int) -> None:
        """Add (sign 1) or take away (sign -1) one entry from the sums."""
        sums = self.actuals.get(hour.task_id)
        if sums is None:
            sums = self.actuals[hour.task_id] = LineSums()
        sums.count += sign
        if sign > 0:
            sums.hours += hour.hours
            sums.cost += hour.cost
            sums.revenue += hour.revenue
        else:
            sums.hours -= hour.hours
            sums.cost -= hour.cost
            sums.revenue -= hour.revenue
        if sums.count == 0:
            del self.actuals[hour.task_id]
        if hour.task_id is not None:
            self.dirty_tasks.add(hour.task_id)
        record = hour.billing_record_id
        if record is not None:
            delta = hour.revenue if sign > 0 else -hour.revenue
            self.record_hours_revenue[record] = self.record_hours_revenue.get(record, ZERO) + delta

    def account_expense(self, expense: ExpenseState, sign: int) -> None:
        planned = money(expense.planned_amount)
        actual = money(expense.actual_amount)
        if sign < 0:
            planned, actual = -planned, -actual
        self.expense_planned += planned
        self.expense_actual += actual
        record = expense.billing_record_id
        if record is not None:
            self.record_expenses[record] = self.record_expenses.get(record, ZERO) + actual

    def replace_hour_sums(
        self, actuals: dict[str | None, LineSums], record_revenue: dict[str, Decimal]
    ) -> None:
        """Install sums computed in one pass over re-priced hours (a recalculation)."""
        self.actuals = actuals
        self.record_hours_revenue = record_revenue
        self.dirty_tasks.update(self.tasks)

    def task_actuals(self, task_id: str | None) -> LineSums:
        return self.actuals.get(task_id) or LineSums()

    # -- lines, with change tracking --------------------------------------------------

    def put_hour(self, hour: HourEntry) -> None:
        old = self.hours.get(hour.hour_id)
        if old is not None:
            self.account_hour(old, -1)
        self.hours[hour.hour_id] = hour
        self.account_hour(hour, 1)
        self._hour_t.change(hour.hour_id)
        self._hour_full.add(hour.hour_id)

    def put_hour_untracked(self, hour: HourEntry) -> None:
        """`put_hour` without marking the entry as changed (a quiet book's states are
        read whole, never by their changes: tracking was a tenth of a replay's apply)."""
        old = self.hours.get(hour.hour_id)
        if old is not None:
            self.account_hour(old, -1)
        self.hours[hour.hour_id] = hour
        self.account_hour(hour, 1)

    def pop_hour(self, hour_id: str) -> HourEntry | None:
        hour = self.hours.pop(hour_id, None)
        if hour is not None:
            self.account_hour(hour, -1)
            self._hour_t.remove(hour_id)
        return hour

    def put_expense(self, expense: ExpenseState) -> None:
        old = self.expenses.get(expense.expense_id)
        if old is not None:
            self.account_expense(old, -1)
        self.expenses[expense.expense_id] = expense
        self.account_expense(expense, 1)
        self._expense_t.change(expense.expense_id)

    def pop_expense(self, expense_id: str) -> ExpenseState | None:
        expense = self.expenses.pop(expense_id, None)
        if expense is not None:
            self.account_expense(expense, -1)
            self._expense_t.remove(expense_id)
        return expense

    def put_task(self, task: TaskState) -> None:
        self.tasks[task.task_id] = task
        self.dirty_tasks.add(task.task_id)
        self._task_t.change(task.task_id)

    def pop_task(self, task_id: str) -> TaskState | None:
        task = self.tasks.pop(task_id, None)
        if task is not None:
            self.dirty_tasks.add(task_id)
            self._task_t.remove(task_id)
        return task

    def put_record(self, record: BillingRecordState) -> None:
        self.records[record.billing_record_id] = record
        self._record_t.change(record.billing_record_id)

    def touch_info(self) -> None:
        self._info_changed = True

    def touch_task(self, task_id: str) -> None:
        self.dirty_tasks.add(task_id)
        self._task_t.change(task_id)

    def touch_hour(self, hour_id: str) -> None:
        self._hour_t.change(hour_id)
        self._hour_full.add(hour_id)

    def touch_hours(self, hour_ids: Iterable[str]) -> None:
        ids = set(hour_ids)
        self._hour_t.changed.update(ids)
        self._hour_t.removed.difference_update(ids)
        self._hour_full.update(ids)

    def touch_prices(self, repriced: Iterable[str], restamped: Iterable[str]) -> None:
        """A recalculation's hours (all count as changed): `repriced` have new prices,
        `restamped` only a new `priced_at`. Any other change of the same hour in the
        same take makes it a whole-row change."""
        repriced, restamped = set(repriced), set(restamped)
        for ids in (repriced, restamped):
            self._hour_t.changed.update(ids)
            self._hour_t.removed.difference_update(ids)
        self._repriced.update(repriced)
        self._restamped.update(restamped)

    def touch_expense(self, expense_id: str) -> None:
        self._expense_t.change(expense_id)

    def touch_record(self, record_id: str) -> None:
        self._record_t.change(record_id)

    def take_changes(self) -> Changes:
        tasks, removed_tasks = self._task_t.take()
        hours, removed_hours = self._hour_t.take()
        full = self._hour_full
        repriced = frozenset((self._repriced & hours) - full)
        restamped = frozenset((self._restamped & hours) - full - repriced)
        self._hour_full = set()
        self._repriced.clear()
        self._restamped.clear()
        expenses, removed_expenses = self._expense_t.take()
        records, removed_records = self._record_t.take()
        info, self._info_changed = self._info_changed, False
        return Changes(
            info=info,
            tasks=tasks,
            removed_tasks=removed_tasks,
            hours=hours,
            removed_hours=removed_hours,
            expenses=expenses,
            removed_expenses=removed_expenses,
            records=records,
            removed_records=removed_records,
            repriced=repriced,
            restamped=restamped,
        )
