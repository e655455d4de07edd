"""R9 for projects and tasks: references, date ranges, moves and locks (R7.4, R10.6).

Rules: docs/rules.md#r7.4, #r10.6.
"""

from __future__ import annotations

from datetime import date

from services.ledger.domain.entities import ProjectState, TaskState
from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_state import WriteState, duplicate
from shared.events import (
    Assignment,
    ProjectCreated,
    ProjectStatusChanged,
    ProjectUpdated,
    TaskCreated,
    TaskMoved,
    TaskStatusChanged,
    TaskUpdated,
)


def check_dates(start: date | None, completion: date | None, what: str) -> None:
    if start is not None and completion is not None and completion < start:
        raise RuleViolation(
            "invalid_date_range",
            f"the {what}'s planned completion {completion} is before its planned start {start}",
            "data.planned_completion",
        )


def _check_assignments(m: WriteState, assignments: tuple[Assignment, ...]) -> None:
    for i, a in enumerate(assignments):
        m.need_user(a.user_id, f"data.assignments[{i}].user_id")
        m.need_role(a.role_id, f"data.assignments[{i}].role_id")


def project_created(m: WriteState, e: ProjectCreated) -> str:
    if e.project_id in m.projects:
        raise duplicate("project", e.project_id, "data.project_id")
    m.need_company(e.company_id, "data.company_id")
    check_dates(e.planned_start, e.planned_completion, "project")
    m.journal.set_item(
        m.projects, e.project_id, ProjectState(e.planned_start, e.planned_completion)
    )
    return f"project-{e.project_id}"


def project_updated(m: WriteState, e: ProjectUpdated) -> str:
    project = m.project(e.project_id, "data.project_id")
    sent = e.provided()
    if "company_id" in sent:
        m.need_company(e.company_id, "data.company_id")
    # the stored dates merged with the update must still make a range
    start = e.planned_start if "planned_start" in sent else project.planned_start
    completion = (
        e.planned_completion if "planned_completion" in sent else project.planned_completion
    )
    check_dates(start, completion, "project")
    m.journal.set_attr(project, "planned_start", start)
    m.journal.set_attr(project, "planned_completion", completion)
    return f"project-{e.project_id}"


def project_status_changed(m: WriteState, e: ProjectStatusChanged) -> str:
    m.project(e.project_id, "data.project_id")
    return f"project-{e.project_id}"


def task_created(m: WriteState, e: TaskCreated) -> str:
    if e.task_id in m.tasks:
        raise duplicate("task", e.task_id, "data.task_id")
    m.project(e.project_id, "data.project_id")
    _check_assignments(m, e.assignments)
    check_dates(e.planned_start, e.planned_completion, "task")
    task = TaskState(
        e.project_id, e.planned_start, e.planned_completion, e.revenue_type, e.revenue_amount
    )
    m.journal.set_item(m.tasks, e.task_id, task)
    return f"project-{e.project_id}"


def task_updated(m: WriteState, e: TaskUpdated) -> str:
    task = m.task(e.task_id, "data.task_id")
    sent = e.provided()
    if e.assignments is not None:
        _check_assignments(m, e.assignments)
    start = e.planned_start if "planned_start" in sent else task.planned_start
    completion = e.planned_completion if "planned_completion" in sent else task.planned_completion
    check_dates(start, completion, "task")
    revenue_type = e.revenue_type if e.revenue_type is not None else task.revenue_type
    amount = e.revenue_amount if "revenue_amount" in sent else task.revenue_amount
    if task.record is not None and m.records[task.record].billed:
        # R10.10: a billed record freezes its fixed-revenue tasks' type and amount
        if revenue_type != task.revenue_type:
            raise _task_locked(e.task_id, task.record, "data.revenue_type")
        if amount != task.revenue_amount:
            raise _task_locked(e.task_id, task.record, "data.revenue_amount")
    m.journal.set_attr(task, "planned_start", start)
    m.journal.set_attr(task, "planned_completion", completion)
    m.journal.set_attr(task, "revenue_type", revenue_type)
    m.journal.set_attr(task, "revenue_amount", amount)
    return f"project-{task.project}"


def _task_locked(task_id: str, record_id: str, field: str) -> RuleViolation:
    return RuleViolation(
        "task_locked",
        f"task {task_id!r} is an item of the billed record {record_id!r}:"
        " its revenue type and amount cannot change (R10.10)",
        field,
    )


def task_status_changed(m: WriteState, e: TaskStatusChanged) -> str:
    return f"project-{m.task(e.task_id, 'data.task_id').project}"


def task_moved(m: WriteState, e: TaskMoved) -> str:
    task = m.task(e.task_id, "data.task_id")
    m.project(e.to_project_id, "data.to_project_id")
    source = task.project
    if e.to_project_id == source:
        raise RuleViolation(
            "task_already_in_project",
            f"task {e.task_id!r} is already in project {source!r}",
            "data.to_project_id",
        )
    if task.record is not None or task.on_records:
        raise RuleViolation(
            "task_on_billing_record",
            f"task {e.task_id!r} has hours, expenses or fixed revenue on a billing record"
            " and cannot leave its project (R7.4)",
            "data.task_id",
        )
    # its hours and expenses follow: their project is read through the task
    m.journal.set_attr(task, "project", e.to_project_id)
    return f"project-{source}"
