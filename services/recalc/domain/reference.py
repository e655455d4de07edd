"""Cross-project reference data with its history by knowledge position (R1.2).

The worker may have applied reference events beyond the event it is pricing, so
every look-up names the position P it answers for ("as known at P").

Rules: docs/rules.md#r1.2.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Generic, TypeVar

from services.recalc.domain.rates import EMPTY, RateTable, make_table
from shared.events import (
    CompanyDefined,
    JobRoleDefined,
    RatesSet,
    RecordedEvent,
    UserDefined,
    UserRolesChanged,
)

T = TypeVar("T")

UserRoles = tuple[str | None, tuple[str, ...]]
"""(primary role, other roles) of a user."""

NO_ROLES: UserRoles = (None, ())

TableKey = tuple[str, str, str, str | None]
"""(level, rate_type, first id, second id), as `RatesSet.table_key()`."""

_LEVELS = frozenset({"role", "user", "company_role"})


class History(Generic[T]):
    """Values of one key, each with the position that set it; positions ascend."""

    __slots__ = ("positions", "values")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.values: list[T] = []

    def set(self, position: int, value: T) -> None:
        self.positions.append(position)
        self.values.append(value)

    def at(self, position: int) -> T | None:
        index = bisect_right(self.positions, position) - 1
        return self.values[index] if index >= 0 else None


class ReferenceData:
    """Roles, users and their roles, companies and the role/user/company rate tables."""

    def __init__(self) -> None:
        self.position = 0
        self.roles: dict[str, int] = {}
        self.companies: dict[str, int] = {}
        self._user_roles: dict[str, History[UserRoles]] = {}
        self._tables: dict[TableKey, History[RateTable]] = {}
        #: what pricing derives from a table, by the table's id: a table is never
        #: dropped from its history, so an id is never reused while this object lives
        self.derived: dict[int, Any] = {}

    def apply(self, event: RecordedEvent) -> None:
        """Fold one event in; fed in position order, other types are ignored."""
        if event.position <= self.position:
            return  # already applied: redelivery is harmless
        data = event.data
        position = event.position
        if isinstance(data, JobRoleDefined):
            self.roles.setdefault(data.role_id, position)
        elif isinstance(data, CompanyDefined):
            self.companies.setdefault(data.company_id, position)
        elif isinstance(data, UserDefined | UserRolesChanged):
            # R10.11: a change replaces both the primary and the other roles.
            roles = (data.primary_role_id, tuple(data.other_role_ids))
            self._user_roles.setdefault(data.user_id, History()).set(position, roles)
        elif isinstance(data, RatesSet) and data.level in _LEVELS:
            level, rate_type, first, second = data.table_key()
            assert first is not None  # the event validates its target ids
            key = (level, rate_type, first, second)
            self._tables.setdefault(key, History()).set(position, make_table(data.periods))
        self.position = position

    def ids(self) -> list[str]:
        """Every role and user id defined so far (any position)."""
        return [*self.roles, *self._user_roles]

    def user_roles(self, user_id: str, at: int) -> UserRoles:
        history = self._user_roles.get(user_id)
        found = history.at(at) if history is not None else None
        return found if found is not None else NO_ROLES

    def table(self, key: TableKey, at: int) -> RateTable:
        history = self._tables.get(key)
        found = history.at(at) if history is not None else None
        return found if found is not None else EMPTY

    def user_cost(self, user_id: str, at: int) -> RateTable:
        return self.table(("user", "cost", user_id, None), at)

    def user_billing(self, user_id: str, at: int) -> RateTable:
        return self.table(("user", "billing", user_id, None), at)

    def role_cost(self, role_id: str, at: int) -> RateTable:
        return self.table(("role", "cost", role_id, None), at)

    def role_billing(self, role_id: str, at: int) -> RateTable:
        return self.table(("role", "billing", role_id, None), at)

    def company_role_billing(self, company_id: str, role_id: str, at: int) -> RateTable:
        return self.table(("company_role", "billing", company_id, role_id), at)
