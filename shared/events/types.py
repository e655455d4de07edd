"""Value types shared by every event: money, hours, rate periods (R3, R4.1).

Input limits (README "Input limits"). Pricing runs in Python's default decimal
context (28 significant digits), where a result that needs more digits than that
fails (`quantize` raises InvalidOperation). So every amount the log may hold is
bounded here: an amount or rate is at most 999,999,999,999.9999 (16 digits) and a
task's planned hours at most 10,000,000, so the worst planned cost of one task,
10^7 h x 10^12 = 10^19, has 21 digits in cents, and even ten million such tasks
summed stay inside 28 digits. Dates lie in 1900-01-01 .. 2199-12-31, so every day
a plan spreads over (and a few years either side) is a representable `date`.

Rules: docs/rules.md#r3, #r4.1.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

MAX_MONEY = Decimal("999999999999.9999")
"""The largest amount or rate: just under 10^12, four places (16 digits)."""
MAX_PLANNED_HOURS = Decimal(10_000_000)
"""The largest planned hours of one task."""
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
"""Every date of every event lies in MIN_DATE .. MAX_DATE, both included."""
MAX_TEXT = 1000
"""The longest free text (names, descriptions, numbers of reference), in characters."""
MAX_ID = 200
ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
"""What every id looks like (and so every `{…_id}` in a path)."""
QUOTE_CHARS = 80
"""An error message quotes at most this much of a value the client sent."""

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` for an error message, a long value cut to `limit` characters
    with an ellipsis: a message never echoes a 100 KB value whole."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "…"
    return shorten(repr(value), limit)


def _plain_number(value: object) -> object:
    # pydantic's lax Decimal reads "1_000", " 5 " and "1e3"; an amount sent as a
    # string must be a plain decimal literal. JSON numbers stay accepted (as the
    # float or int the JSON parser reads; strings are the exact form).
    if isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value) is None:
        raise ValueError(f"{quote(value)} is not a plain decimal number such as 12.50")
    return value


def _iso_date(value: object) -> object:
    # pydantic's lax date also reads Unix times (0, "1687132800") and datetimes.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value) is not None:
        return value
    raise ValueError(f"a date is a string YYYY-MM-DD, not {quote(value)}")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("the text holds U+0000, which cannot be stored")
    return value


def _normalise(value: Decimal) -> Decimal:
    # "30", 30 and "30.00" are the same amount; keep what the client sent as
    # significant places but never an exponent form such as 3E+1. Runs only once
    # the bounds above held (so `quantize` cannot overflow the context).
    if value != value.to_integral_value():
        return value.normalize()
    return value.quantize(Decimal(1))


# The Field comes BEFORE the BeforeValidator in each Annotated: so the bounds stay in
# pydantic-core's decimal/date validator (written the other way round, pydantic runs
# each bound as a Python function: Money took 4 us a value instead of 1.4). The
# BeforeValidator still runs first, and the bounds are checked before _normalise.
Money = Annotated[
    Decimal,
    Field(ge=0, le=MAX_MONEY, max_digits=16, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(_plain_number),
    AfterValidator(_normalise),
]
"""A rate or an amount: 0 .. MAX_MONEY, at most 4 decimal places in (R3.2)."""

PlannedHours = Annotated[
    Decimal,
    Field(ge=0, le=MAX_PLANNED_HOURS, max_digits=12, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(_plain_number),
    AfterValidator(_normalise),
]
"""A task's planned hours: a total, not one entry: 0 .. MAX_PLANNED_HOURS."""

Hours = Annotated[
    Decimal,
    Field(gt=0, le=24, decimal_places=2, allow_inf_nan=False),
    BeforeValidator(_plain_number),
    AfterValidator(_normalise),
]
"""Hours of one entry: > 0 and <= 24, at most 2 decimal places (R3.2)."""

Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(_plain_number),
]
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]

Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_no_nul)]
"""Free text: at most MAX_TEXT characters, and no U+0000 (PostgreSQL's jsonb cannot
hold it)."""

BusinessDate = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE), BeforeValidator(_iso_date)]
"""Every date of every event: an ISO string YYYY-MM-DD in MIN_DATE .. MAX_DATE."""

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
    start_date: BusinessDate | None = None
    end_date: BusinessDate | None = None


class Assignment(Frozen):
    """A task assignment: a user and/or a job role, with an allocation (R2)."""

    user_id: Id | None = None
    role_id: Id | None = None
    allocation_percent: Percent | None = None
