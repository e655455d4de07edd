"""Reference data and rates: roles, users, companies, rate tables (R2, R4).

Rules: docs/rules.md#r2, #r4; fields: docs/contract.md#events.
"""

from __future__ import annotations

from pydantic import model_validator

from shared.events.base import EventData, register
from shared.events.types import Id, RateLevel, RatePeriod, RateType, Text


@register
class JobRoleDefined(EventData):
    role_id: Id
    name: Text


@register
class UserDefined(EventData):
    user_id: Id
    name: Text
    primary_role_id: Id | None = None
    other_role_ids: tuple[Id, ...] = ()


@register
class UserRolesChanged(EventData):
    user_id: Id
    primary_role_id: Id | None = None
    other_role_ids: tuple[Id, ...] = ()


@register
class CompanyDefined(EventData):
    company_id: Id
    name: Text


_TARGETS: dict[str, tuple[str, ...]] = {
    "role": ("role_id",),
    "user": ("user_id",),
    "company_role": ("company_id", "role_id"),
    "project_role": ("project_id", "role_id"),
}


@register
class RatesSet(EventData):
    """Replaces one whole rate table; an empty list clears it (R4.1)."""

    level: RateLevel
    rate_type: RateType
    role_id: Id | None = None
    user_id: Id | None = None
    company_id: Id | None = None
    project_id: Id | None = None
    periods: tuple[RatePeriod, ...]

    @model_validator(mode="after")
    def _target_matches_level(self) -> RatesSet:
        needed = _TARGETS[self.level]
        for name in ("role_id", "user_id", "company_id", "project_id"):
            value = getattr(self, name)
            if name in needed and value is None:
                raise ValueError(f"level {self.level!r} needs {name}")
            if name not in needed and value is not None:
                raise ValueError(f"level {self.level!r} takes no {name}")
        return self

    def table_key(self) -> tuple[str, str, str | None, str | None]:
        """Which table this replaces: (level, rate_type, first id, second id)."""
        ids = [getattr(self, name) for name in _TARGETS[self.level]]
        return (self.level, self.rate_type, ids[0], ids[1] if len(ids) > 1 else None)
