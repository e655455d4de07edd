"""Value types shared by every event: money, hours, rate periods (R3, R4.1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _normalise(value: Decimal) -> Decimal:
    # "30", 30 and "30.00" are the same amount; keep what the client sent as
    # significant places but never an exponent form such as 3E+1.
    if value != value.to_integral_value():
        return value.normalize()
    return value.quantize(Decimal(1))


Money = Annotated[
    Decimal,
    Field(ge=0, decimal_places=4, allow_inf_nan=False),
    AfterValidator(_normalise),
]
"""A rate or an amount: >= 0, at most 4 decimal places in (R3.2)."""

Hours = Annotated[
    Decimal,
    Field(gt=0, le=24, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_normalise),
]
"""Hours of one entry: > 0 and <= 24, at most 2 decimal places (R3.2)."""

Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4, allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]

ProjectStatus = Literal["planning", "current", "on_hold", "complete", "dead"]
TaskStatus = Literal["new", "in_progress", "complete", "dead"]
CostType = Literal["user_hourly", "role_hourly", "fixed_hourly", "no_cost"]
RevenueType = Literal[
    "user_hourly",
    "role_hourly",
    "user_hourly_cap",
    "role_hourly_cap",
    "user_hourly_plus_fixed",
    "role_hourly_plus_fixed",
    "fixed_hourly",
    "fixed_revenue",
    "not_billable",
]
RateLevel = Literal["role", "user", "company_role", "project_role"]
RateType = Literal["cost", "billing"]
RecalcScope = Literal["all", "planned"]
BillingStatus = Literal["not_billed", "billed"]


class Frozen(BaseModel):
    """Base of every contract model: immutable, and a typo is an error, not a drop."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RatePeriod(Frozen):
    """One period of a rate table; a missing bound is open (R4.1)."""

    value: Money
    start_date: date | None = None
    end_date: date | None = None


class Assignment(Frozen):
    """A task assignment: a user and/or a job role, with an allocation (R2)."""

    user_id: Id | None = None
    role_id: Id | None = None
    allocation_percent: Percent | None = None
