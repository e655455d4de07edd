"""R9 for reference data and rate tables (R4.1, R4.3, R10.4).

Rules: docs/rules.md#r4.
"""

from __future__ import annotations

import itertools
from datetime import date

from services.ledger.domain.errors import RuleViolation
from services.ledger.domain.write_state import WriteState, duplicate
from shared.events import (
    CompanyDefined,
    JobRoleDefined,
    RatePeriod,
    RatesSet,
    UserDefined,
    UserRolesChanged,
)


def role_defined(m: WriteState, e: JobRoleDefined) -> str:
    if e.role_id in m.roles:
        raise duplicate("job role", e.role_id, "data.role_id")
    m.journal.add(m.roles, e.role_id)
    return f"role-{e.role_id}"


def _check_roles(m: WriteState, primary: str | None, others: tuple[str, ...]) -> None:
    m.need_role(primary, "data.primary_role_id")
    for i, role_id in enumerate(others):
        m.need_role(role_id, f"data.other_role_ids[{i}]")


def user_defined(m: WriteState, e: UserDefined) -> str:
    if e.user_id in m.users:
        raise duplicate("user", e.user_id, "data.user_id")
    _check_roles(m, e.primary_role_id, e.other_role_ids)
    m.journal.add(m.users, e.user_id)
    return f"user-{e.user_id}"


def user_roles_changed(m: WriteState, e: UserRolesChanged) -> str:
    m.need_user(e.user_id, "data.user_id")
    _check_roles(m, e.primary_role_id, e.other_role_ids)
    return f"user-{e.user_id}"


def company_defined(m: WriteState, e: CompanyDefined) -> str:
    if e.company_id in m.companies:
        raise duplicate("company", e.company_id, "data.company_id")
    m.journal.add(m.companies, e.company_id)
    return f"company-{e.company_id}"


def rates_set(m: WriteState, e: RatesSet) -> str:
    if e.rate_type == "cost" and e.level in ("company_role", "project_role"):
        raise RuleViolation(
            "cost_rates_not_allowed",
            f"cost rates exist on roles and users only, not on level {e.level!r} (R4.3)",
            "data.rate_type",
        )
    m.need_role(e.role_id, "data.role_id")
    m.need_user(e.user_id, "data.user_id")
    m.need_company(e.company_id, "data.company_id")
    if e.project_id is not None:
        m.project(e.project_id, "data.project_id")
    check_periods(e.periods)
    if e.level == "role":
        return f"role-{e.role_id}"
    if e.level == "user":
        return f"user-{e.user_id}"
    if e.level == "company_role":
        return f"company-{e.company_id}"
    return f"project-{e.project_id}"


def check_periods(periods: tuple[RatePeriod, ...]) -> None:
    """Each period's end is not before its start; no two periods share a day (R10.4:
    bounds are inclusive, a missing bound is open)."""
    for i, p in enumerate(periods):
        if p.start_date and p.end_date and p.end_date < p.start_date:
            raise RuleViolation(
                "rate_period_invalid",
                f"period {i} ends ({p.end_date}) before it starts ({p.start_date})",
                f"data.periods[{i}].end_date",
            )
    order = sorted(range(len(periods)), key=lambda i: periods[i].start_date or date.min)
    for prev, cur in itertools.pairwise(order):
        prev_end = periods[prev].end_date
        cur_start = periods[cur].start_date
        if prev_end is None or cur_start is None or prev_end >= cur_start:
            raise RuleViolation(
                "rate_periods_overlap",
                f"period {cur} overlaps period {prev} (period dates are inclusive)",
                f"data.periods[{cur}].start_date",
            )
