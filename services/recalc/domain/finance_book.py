"""The finance book: applies project-stream events to the priced state (R5–R8).

The worker feeds it every project-stream event in position order, after feeding
the `ReferenceData` at least up to that position; what `apply` returns is what to
publish on the finance topic (R6.4).

A quiet book (`quiet=True`: replay, as_of) publishes nothing: it neither computes
totals around every event nor builds outcomes, which is most of the cost of a small
event. Recalculations still run (they change prices); the lines end up identical, and
totals are read once at the end (`totals`). It also prices a task's plan late: only
the last of the plan changes between two changes of what a pricer reads counts, and
each is priced as at its own position, so it prices that one alone (`settle`, before
anything reads a state).

Rules: docs/rules.md#r5 to #r8.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from datetime import date
from typing import Any

from services.recalc.domain import line_handlers, project_handlers
from services.recalc.domain.event_step import Recalc, Step, today_of
from services.recalc.domain.planning import price_plan
from services.recalc.domain.pricing import Pricer
from services.recalc.domain.recalc import recalculate
from services.recalc.domain.reference import ReferenceData
from services.recalc.domain.state import Changes, ProjectState, TaskState
from services.recalc.domain.totals import project_totals, record_view, task_view
from services.recalc.domain.views import PricingObserver, RecordView, TaskView
from shared.events import (
    BillingRecordCreated,
    BillingRecordItemsAdded,
    BillingRecordItemsRemoved,
    BillingRecordStatusChanged,
    BillingRecordUpdated,
    Cause,
    EventData,
    ExpenseDeleted,
    ExpenseRecorded,
    ExpenseUpdated,
    FinancesRecalculated,
    FinancesRecalculationRequested,
    HoursDeleted,
    HoursEdited,
    HoursLogged,
    HoursLoggedAt,
    ProjectCreated,
    ProjectFinancesChanged,
    ProjectStatusChanged,
    ProjectTotals,
    ProjectUpdated,
    RatesSet,
    RecordedEvent,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
    project_of_stream,
)
from shared.events.trusted import LoggedHours

Handler = Callable[[Step, ProjectState, Any], None]

_HANDLERS: dict[type[EventData], Handler] = {
    ProjectUpdated: project_handlers.project_updated,
    ProjectStatusChanged: project_handlers.project_status_changed,
    RatesSet: project_handlers.project_rates_set,
    TaskCreated: project_handlers.task_created,
    TaskUpdated: project_handlers.task_updated,
    TaskStatusChanged: project_handlers.task_status_changed,
    TaskMoved: project_handlers.task_moved,
    HoursLogged: line_handlers.hours_logged,
    HoursEdited: line_handlers.hours_edited,
    HoursDeleted: line_handlers.hours_deleted,
    ExpenseRecorded: line_handlers.expense_recorded,
    ExpenseUpdated: line_handlers.expense_updated,
    ExpenseDeleted: line_handlers.expense_deleted,
    BillingRecordCreated: line_handlers.record_created,
    BillingRecordUpdated: line_handlers.record_updated,
    BillingRecordItemsAdded: line_handlers.items_added,
    BillingRecordItemsRemoved: line_handlers.items_removed,
    BillingRecordStatusChanged: line_handlers.record_status_changed,
}


def _manual(step: Step, state: ProjectState, data: FinancesRecalculationRequested) -> None:
    # The ledger appends one event per project, on that project's stream (R6.2):
    # the stream names the project to recalculate, once (R10.9).
    step.recalcs.append(Recalc(state.info.project_id, data.scope, "manual"))


_HANDLERS[FinancesRecalculationRequested] = _manual

#: Events that neither read nor change what a `Pricer` depends on (the project's
#: info, its tasks, the reference data): a quiet book keeps a project's pricer
#: across them. Any other event of a project drops its pricer (and a task move the
#: target's too), except a task update that leaves what a pricer reads of the task.
_KEEP_PRICER = frozenset(
    {
        HoursLogged,
        HoursEdited,
        HoursDeleted,
        ExpenseRecorded,
        ExpenseUpdated,
        ExpenseDeleted,
        BillingRecordCreated,
        BillingRecordUpdated,
        BillingRecordItemsAdded,
        BillingRecordItemsRemoved,
        BillingRecordStatusChanged,
    }
)
#: The task fields a `Pricer` reads (pricing.py) besides its id.
_PRICED_TASK_FIELDS = frozenset(
    {"cost_type", "revenue_type", "fixed_hourly_cost", "revenue_amount", "assignments"}
)


def _change_positions(reference: ReferenceData) -> list[int]:
    """Every position at which `reference` changed, ascending: between two of them,
    every look-up "as known at P" answers the same."""
    positions: set[int] = set(reference.roles.values()) | set(reference.companies.values())
    for roles in reference._user_roles.values():
        positions.update(roles.positions)
    for tables in reference._tables.values():
        positions.update(tables.positions)
    return sorted(positions)


class FinanceBook:
    """Projects held in memory, priced from the log (R1.1)."""

    def __init__(
        self, reference: ReferenceData, *, quiet: bool = False, columnar: bool = True
    ) -> None:
        self.reference = reference
        self.quiet = quiet
        #: recalculations of entries held as objects priced as columns (`Step.columnar`)
        self.columnar = columnar
        self.projects: dict[str, ProjectState] = {}
        self.observer: PricingObserver | None = None
        #: billing record id -> project id, for `record_view`
        self._record_projects: dict[str, str] = {}
        #: the totals each project had after the last event applied to it, with the
        #: state they were computed from: the next event's `before` (computing totals
        #: twice an event was a fifth of a catch-up). Only `apply` changes a held state.
        self._last_totals: dict[str, tuple[ProjectState, ProjectTotals]] = {}
        #: a quiet book's pricer of each project, reused while nothing it reads
        #: changes (`_pricer`), so that its memos (rate chains, breaks) carry over;
        #: with the position before which it answers as a new one would, and the
        #: reference position that was found at
        self._pricers: dict[str, tuple[Pricer, float, int]] = {}
        #: positions where the reference data changed, as of `reference.position`
        self._ref_changes: list[int] = []
        self._ref_seen = -1
        #: a quiet book's plans to price, by project and task id: the task, and the
        #: position and "today" of the event that last changed its plan
        self._plans: dict[str, dict[str, tuple[TaskState, int, date]]] = {}

    def add(self, state: ProjectState) -> None:
        """Hold a project restored by the worker."""
        self.projects[state.info.project_id] = state
        self._last_totals.pop(state.info.project_id, None)
        for record_id in state.records:
            self._record_projects[record_id] = state.info.project_id

    def drop(self, project_id: str) -> None:
        self._last_totals.pop(project_id, None)
        self._pricers.pop(project_id, None)
        self._plans.pop(project_id, None)
        state = self.projects.pop(project_id, None)
        if state is not None:
            for record_id in state.records:
                self._record_projects.pop(record_id, None)

    def apply(self, event: RecordedEvent) -> list[EventData]:
        """Apply one project-stream event; return what to publish, in order."""
        data = event.data
        project_id = project_of_stream(event.stream)
        if project_id is None:
            return []
        if self.quiet:
            kind = type(data)
            if kind is TaskUpdated:
                if data.provided() & _PRICED_TASK_FIELDS:
                    self._new_pricer(project_id)
            elif kind not in _KEEP_PRICER:
                self._new_pricer(project_id)
                if kind is TaskMoved:
                    self._new_pricer(data.to_project_id)  # type: ignore[attr-defined]
            elif self.observer is None and kind is HoursLogged:
                self._log_quietly(project_id, event.position, data)  # type: ignore[arg-type]
                return []
            elif self.observer is None and kind is HoursEdited:
                state = self.projects.get(project_id)
                if state is not None:
                    pricer = self._pricer(project_id, state, event.position)
                    line_handlers.edit_hour(pricer, state, data, event.position)  # type: ignore[arg-type]
                return []
        step = Step(
            event=event,
            reference=self.reference,
            projects=self.projects,
            record_projects=self._record_projects,
            observer=self.observer,
            today=today_of(event.recorded_at),
            columnar=self.columnar,
            defer_plan=self._defer_plan if self.quiet else None,
        )
        if isinstance(data, ProjectCreated):
            project_handlers.project_created(step, data)
            return [] if self.quiet else self._published(event, {}, step)
        handler = _HANDLERS.get(type(data))
        state = self.projects.get(project_id)
        if handler is None or state is None:
            return []
        if self.quiet:
            handler(step, state, data)
            if step.recalcs:
                self._recalculate(step)
            return []
        touched = [project_id]
        if isinstance(data, TaskMoved) and data.to_project_id in self.projects:
            touched.append(data.to_project_id)
        before = {pid: self._totals_now(pid) for pid in touched}
        handler(step, state, data)
        return self._published(event, before, step)

    def log_hours(self, event: HoursLoggedAt) -> None:
        """A quiet book's `apply` of an `HoursLogged` event read bare (without its
        envelope: `eventlog.read_history`)."""
        if not self.quiet or self.observer is not None:
            raise ValueError("a bare HoursLogged event is for a quiet book without observer")
        project_id = project_of_stream(event.stream)
        if project_id is not None:
            self._log_quietly(project_id, event.position, event.data)

    def log_bare(self, stream: str, position: int, data: LoggedHours) -> None:
        """`log_hours` of the event at `position` of `stream`, given apart (a replay
        reads three quarters of its events this way: no tuple is made to hold them)."""
        if not self.quiet or self.observer is not None:
            raise ValueError("a bare HoursLogged event is for a quiet book without observer")
        project_id = project_of_stream(stream)
        if project_id is not None:
            self._log_quietly(project_id, position, data)

    def _log_quietly(self, project_id: str, position: int, data: HoursLogged | LoggedHours) -> None:
        """A quiet book's `HoursLogged`: priced by the project's kept pricer. Nothing
        tracks the entry as changed: a quiet book's states are read whole."""
        state = self.projects.get(project_id)
        if state is not None:
            line_handlers.log_hour(
                self._pricer(project_id, state, position), state, data, position, tracked=False
            )

    def apply_stored(self, event: RecordedEvent | HoursLoggedAt) -> list[EventData]:
        """`apply`, or `log_hours` for a bare event."""
        if type(event) is HoursLoggedAt:
            self.log_hours(event)
            return []
        return self.apply(event)  # type: ignore[arg-type]

    def _new_pricer(self, project_id: str) -> None:
        """What a pricer of the project reads is about to change: drop its pricer, and
        price the plans waiting for it now, before the change."""
        self._pricers.pop(project_id, None)
        plans = self._plans.pop(project_id, None)
        state = self.projects.get(project_id)
        if plans and state is not None:
            for task, position, today in plans.values():
                if state.tasks.get(task.task_id) is task:
                    pricer = Pricer(self.reference, state.info, position)
                    task.planned_cost, task.planned_hourly_revenue = price_plan(pricer, task, today)
                    task.plan_priced_at = position

    def _defer_plan(self, state: ProjectState, task: TaskState, position: int, today: date) -> None:
        self._plans.setdefault(state.info.project_id, {})[task.task_id] = (task, position, today)

    def settle(self, project_id: str | None = None) -> None:
        """Price what a quiet book left for later (plans) of one project, or of all:
        call before reading their states. Idempotent; a no-op for a publishing book."""
        for pid in list(self._plans) if project_id is None else [project_id]:
            if pid in self._plans:
                self._new_pricer(pid)

    def _pricer(self, project_id: str, state: ProjectState, position: int) -> Pricer:
        """A pricer answering as one made at `position` would: the project's last one
        when the reference data has not changed since it was made (nor the project's
        info or tasks: other events drop it, see _KEEP_PRICER), else a new one. The
        reference is fed at least up to `position` before the event (see above), so
        its change positions cover everything known at `position`."""
        reference = self.reference
        seen = reference.position
        if seen != self._ref_seen:
            self._ref_changes = _change_positions(reference)
            self._ref_seen = seen
        found = self._pricers.get(project_id)
        if found is not None:
            pricer, until, until_seen = found
            if pricer.info is state.info and pricer.at <= position:
                if until_seen != seen:  # the reference grew: changes after pricer.at?
                    until = self._next_change(pricer.at)
                    self._pricers[project_id] = (pricer, until, seen)
                if position < until:
                    return pricer
        pricer = Pricer(reference, state.info, position)
        self._pricers[project_id] = (pricer, self._next_change(position), seen)
        return pricer

    def _next_change(self, position: int) -> float:
        """The first position after `position` where the reference data changed."""
        changes = self._ref_changes
        i = bisect_right(changes, position)
        return changes[i] if i < len(changes) else math.inf

    def _recalculate(self, step: Step) -> list[tuple[Recalc, int, int]]:
        """Run what the handler asked for, in order, once per (project, reason)."""
        done: list[tuple[Recalc, int, int]] = []
        seen: set[tuple[str, str]] = set()
        for recalc in step.recalcs:
            state = self.projects.get(recalc.project_id)
            if state is None or (recalc.project_id, recalc.reason) in seen:
                continue
            seen.add((recalc.project_id, recalc.reason))
            counts = recalculate(step, state, recalc.scope)
            done.append((recalc, counts.hours_repriced, counts.hours_locked))
        return done

    def _published(
        self, event: RecordedEvent, before: dict[str, ProjectTotals], step: Step
    ) -> list[EventData]:
        done = self._recalculate(step)
        out: list[EventData] = []
        cause = Cause(type=event.type, position=event.position)
        after: dict[str, ProjectTotals] = {}
        touched = list(before) or [project_of_stream(event.stream) or ""]
        for project_id in touched:
            if project_id not in self.projects:
                continue
            state = self.projects[project_id]
            after[project_id] = totals = project_totals(state)
            self._last_totals[project_id] = (state, totals)
            if before.get(project_id) != totals:
                out.append(
                    ProjectFinancesChanged(
                        project_id=project_id,
                        position=event.position,
                        totals=totals,
                        cause=cause,
                    )
                )
        for recalc, repriced, locked in done:
            pid = recalc.project_id
            out.append(
                FinancesRecalculated(
                    project_id=pid,
                    scope=recalc.scope,
                    reason=recalc.reason,
                    position=event.position,
                    # Before the event that caused it, so a consumer sees the whole step.
                    before=before.get(pid) or after[pid],
                    after=after[pid],
                    hours_repriced=repriced,
                    hours_locked=locked,
                )
            )
        return out

    def _totals_now(self, project_id: str) -> ProjectTotals:
        state = self.projects[project_id]
        last = self._last_totals.get(project_id)
        if last is not None and last[0] is state:
            return last[1]
        return project_totals(state)

    def totals(self, project_id: str) -> ProjectTotals:
        if self.quiet:  # a quiet book keeps no totals between events
            self.settle(project_id)
            return project_totals(self.projects[project_id])
        return self._totals_now(project_id)

    def task_view(self, project_id: str, task_id: str) -> TaskView:
        self.settle(project_id)
        state = self.projects[project_id]
        return task_view(state, state.tasks[task_id])

    def task_views(self, project_id: str) -> list[TaskView]:
        self.settle(project_id)
        state = self.projects[project_id]
        return [task_view(state, task) for task in state.tasks.values()]

    def record_view(self, billing_record_id: str) -> RecordView:
        project_id = self._record_projects[billing_record_id]
        self.settle(project_id)
        state = self.projects[project_id]
        return record_view(state, state.records[billing_record_id])

    def take_changes(self, project_id: str) -> Changes:
        return self.projects[project_id].take_changes()
