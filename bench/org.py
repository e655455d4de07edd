"""The synthetic organisation (issue 5): roles with dated rate periods, users, companies
with role rates, projects with overrides and tasks. Pure: a seeded generator, no I/O.

Events come out in dependency order (R9): every reference names something defined by
an earlier phase, so each phase's batches can be posted concurrently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# Rate periods change on these dates, so pricing must pick the right period (R4.1).
PERIOD_BOUNDS = (date(2024, 1, 1), date(2025, 1, 1))
FIRST_DAY = date(2023, 1, 2)
LAST_DAY = date(2025, 6, 30)

COST_TYPES = ("user_hourly",) * 12 + ("role_hourly",) * 5 + ("fixed_hourly", "no_cost")
REVENUE_TYPES = (
    ("user_hourly",) * 10
    + ("role_hourly",) * 5
    + ("user_hourly_cap", "fixed_hourly", "fixed_revenue", "not_billable")
)
# Hours on these can go on a billing record (R7.1).
BILLABLE_TYPES = frozenset({"user_hourly", "role_hourly", "user_hourly_cap", "fixed_hourly"})


@dataclass(frozen=True, slots=True)
class Ev:
    """One event to post: its type, its data, and the stream the ledger will put it in."""

    type: str
    data: dict[str, Any]
    stream: str


@dataclass(slots=True)
class Task:
    task_id: str
    revenue_type: str
    assignees: list[str]


@dataclass(slots=True)
class Project:
    project_id: str
    team: list[str]
    tasks: list[Task] = field(default_factory=list)


@dataclass(slots=True)
class Org:
    roles: list[str]
    users: dict[str, str]  # user -> primary role
    companies: list[str]
    projects: list[Project]  # the bulk set; projects[0] is the big one
    side: list[Project]  # single-event ingest and freshness post here
    phases: list[list[Ev]]  # setup events, phase by phase
    # Bare copies for the SQL limit: (kind, target id, rate_type, start, end, value).
    rates: list[tuple[str, str, str, date | None, date | None, str]]


def money(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low * 100, high * 100) / 100:.2f}"


def _periods(rng: random.Random, low: int, high: int) -> list[dict[str, Any]]:
    """Three dated periods: until 2023, 2024, from 2025 (open at both ends)."""
    a, b = PERIOD_BOUNDS
    base = rng.randint(low, high)
    return [
        {"value": f"{base}.00", "end_date": (a - timedelta(days=1)).isoformat()},
        {
            "value": f"{base + 5}.00",
            "start_date": a.isoformat(),
            "end_date": (b - timedelta(days=1)).isoformat(),
        },
        {"value": f"{base + 10}.50", "start_date": b.isoformat()},
    ]


def _rate_rows(
    kind: str, target: str, rate_type: str, periods: list[dict[str, Any]]
) -> list[tuple[str, str, str, date | None, date | None, str]]:
    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    return [
        (kind, target, rate_type, day(p.get("start_date")), day(p.get("end_date")), p["value"])
        for p in periods
    ]


def rates_set(level: str, rate_type: str, periods: list[dict[str, Any]], **ids: str) -> Ev:
    stream = {
        "role": f"role-{ids.get('role_id')}",
        "user": f"user-{ids.get('user_id')}",
        "company_role": f"company-{ids.get('company_id')}",
        "project_role": f"project-{ids.get('project_id')}",
    }[level]
    data = {"level": level, "rate_type": rate_type, **ids, "periods": periods}
    return Ev("RatesSet", data, stream)


def _task(rng: random.Random, project: Project, index: int, roles: list[str]) -> Ev:
    task_id = f"{project.project_id}-t{index:02d}"
    cost_type = rng.choice(COST_TYPES)
    revenue_type = rng.choice(REVENUE_TYPES)
    start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 330))
    assignees = rng.sample(project.team, k=min(len(project.team), rng.randint(1, 2)))
    assignments: list[dict[str, Any]] = [{"user_id": u} for u in assignees]
    if rng.random() < 0.3:
        assignments.append({"role_id": rng.choice(roles), "allocation_percent": "25"})
    data: dict[str, Any] = {
        "task_id": task_id,
        "project_id": project.project_id,
        "name": f"Task {index}",
        "status": "in_progress",
        "planned_hours": str(rng.randint(8, 160)),
        "planned_start": start.isoformat(),
        "planned_completion": (start + timedelta(days=rng.randint(4, 40))).isoformat(),
        "cost_type": cost_type,
        "revenue_type": revenue_type,
        "assignments": assignments,
    }
    if cost_type == "fixed_hourly":
        data["fixed_hourly_cost"] = money(rng, 20, 60)
    if revenue_type in ("fixed_hourly", "fixed_revenue", "user_hourly_cap"):
        data["revenue_amount"] = money(rng, 50, 5000)
    project.tasks.append(Task(task_id, revenue_type, assignees))
    return Ev("TaskCreated", data, f"project-{project.project_id}")


def _project(
    rng: random.Random, project: Project, companies: list[str], roles: list[str], tasks: int
) -> tuple[Ev, list[Ev]]:
    pid = project.project_id
    data: dict[str, Any] = {
        "project_id": pid,
        "name": f"Project {pid}",
        "status": "current",
        "planned_start": "2024-01-08",
        "planned_completion": "2025-06-30",
        "budget": money(rng, 50_000, 500_000),
        "fixed_cost": money(rng, 0, 2000),
        "fixed_revenue": money(rng, 0, 5000),
    }
    if companies and rng.random() < 0.7:
        data["company_id"] = rng.choice(companies)
    later: list[Ev] = []
    if rng.random() < 0.2:  # project overrides of one or two roles (R4.4, R4.6)
        for role in rng.sample(roles, k=min(len(roles), rng.randint(1, 2))):
            periods = _periods(rng, 90, 140)
            later.append(
                rates_set("project_role", "billing", periods, project_id=pid, role_id=role)
            )
    later.extend(_task(rng, project, i, roles) for i in range(tasks))
    return Ev("ProjectCreated", data, f"project-{pid}"), later


def build_org(size: Any, seed: int = 5) -> Org:
    """`size` is a `bench.sizes.Size`; the same seed gives the same organisation."""
    rng = random.Random(seed)
    roles = [f"r{i:03d}" for i in range(size.roles)]
    users = {f"u{i:05d}": rng.choice(roles) for i in range(size.users)}
    companies = [f"c{i:03d}" for i in range(size.companies)]
    rates: list[tuple[str, str, str, date | None, date | None, str]] = []

    role_events = [
        Ev("JobRoleDefined", {"role_id": r, "name": f"Role {r}"}, f"role-{r}") for r in roles
    ]
    role_rates: list[Ev] = []
    for r in roles:
        for rate_type, low, high in (("cost", 30, 70), ("billing", 80, 150)):
            periods = _periods(rng, low, high)
            role_rates.append(rates_set("role", rate_type, periods, role_id=r))
            rates.extend(_rate_rows("role", r, rate_type, periods))

    user_events: list[Ev] = []
    user_rates: list[Ev] = []
    for u, primary in users.items():
        data: dict[str, Any] = {"user_id": u, "name": f"User {u}", "primary_role_id": primary}
        if rng.random() < 0.3:
            data["other_role_ids"] = rng.sample(roles, k=min(2, len(roles)))
        user_events.append(Ev("UserDefined", data, f"user-{u}"))
        for rate_type, share, low, high in (("cost", 0.4, 25, 60), ("billing", 0.3, 70, 160)):
            if rng.random() < share:
                periods = _periods(rng, low, high)
                user_rates.append(rates_set("user", rate_type, periods, user_id=u))
                rates.extend(_rate_rows("user", u, rate_type, periods))

    company_events = [
        Ev("CompanyDefined", {"company_id": c, "name": f"Company {c}"}, f"company-{c}")
        for c in companies
    ]
    company_rates = [
        rates_set("company_role", "billing", _periods(rng, 85, 145), company_id=c, role_id=r)
        for c in companies
        for r in rng.sample(roles, k=min(len(roles), 5))
    ]

    user_ids = list(users)

    def team() -> list[str]:
        return rng.sample(user_ids, k=min(len(user_ids), 8))

    projects = [Project(f"p{i:05d}", team()) for i in range(size.projects)]
    side = [Project(f"s{i:03d}", team()) for i in range(size.side_projects)]
    project_events: list[Ev] = []
    plan_events: list[Ev] = []
    for p in projects + side:
        created, later = _project(rng, p, companies, roles, size.tasks_per_project)
        project_events.append(created)
        plan_events.extend(later)

    phases = [
        role_events,
        role_rates + company_events,
        user_events + company_rates,
        user_rates + project_events,
        plan_events,
    ]
    return Org(roles, users, companies, projects, side, phases, rates)
