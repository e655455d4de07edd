"""One project's unpriceable events must never hold back another project's work.

The worker advances many projects per transaction. When such a transaction fails for
a reason that trying again will not cure (pricing cannot apply an event: a bug, or a
value an older ledger let through), the projects are split in halves and retried
until every failing project stands alone; the others are advanced. Failures that a
retry may cure (the database is down, a time-out, a deadlock) are raised unchanged:
the caller waits and tries the whole batch again, and nobody is blamed.

Pure apart from the `advance` it is given, so it is unit-tested with a fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

#: an error is kept to this many characters (its type and message, never a value dump)
MAX_ERROR = 500


def describe(exc: BaseException) -> str:
    """`Type: message`, cut to `MAX_ERROR` characters."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class CannotPrice(Exception):
    """Pricing cannot apply `project_id`'s event at `position` (a replay: `as_of`,
    an hour's history, `tally audit`). The worker parks such a project instead."""

    def __init__(self, project_id: str, position: int, error: str) -> None:
        super().__init__(
            f"project {project_id!r} cannot be priced as of position {position}: {error}"
        )
        self.project_id = project_id
        self.position = position
        self.error = error


#: advances these projects in one transaction (or several); returns every project
#: advanced, raises when its transaction fails (nothing of that one is kept)
Advance = Callable[[list[str]], Awaitable[set[str]]]


@dataclass(slots=True)
class Isolated:
    """What became of a batch: advanced projects, and each failing one's error."""

    advanced: set[str] = field(default_factory=set)
    failed: dict[str, Exception] = field(default_factory=dict)


async def advance_isolating(
    advance: Advance,
    projects: Iterable[str],
    *,
    transient: Callable[[BaseException], bool],
) -> Isolated:
    """Advance `projects`; bisect on a failure that is not `transient` until each
    failing project is alone. A transient failure propagates (from any depth)."""
    out = Isolated()

    async def attempt(group: list[str]) -> None:
        try:
            out.advanced |= await advance(group)
        except Exception as exc:
            if transient(exc):
                raise
            if len(group) == 1:
                out.failed[group[0]] = exc
                return
            middle = len(group) // 2
            await attempt(group[:middle])
            await attempt(group[middle:])

    wanted = sorted(set(projects))
    if wanted:
        await attempt(wanted)
    # a project advanced beside one that failed (a task move's other side) is not
    # advanced after all if its own attempt alone failed later
    out.advanced -= out.failed.keys()
    return out
