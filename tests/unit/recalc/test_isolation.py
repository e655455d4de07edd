"""A project whose events pricing cannot apply never holds back another's work."""

from __future__ import annotations

import decimal

import pytest

from services.recalc.service_layer.isolation import advance_isolating
from services.recalc.service_layer.scheduler import Scheduler


class FakeAdvance:
    """Advances any group without a poisoned project; a group with one fails whole,
    as one worker transaction does. Records every group tried."""

    def __init__(self, poisoned: set[str], *, transient_after: int | None = None) -> None:
        self.poisoned = poisoned
        self.advanced: set[str] = set()
        self.calls: list[list[str]] = []
        self.transient_after = transient_after

    async def __call__(self, group: list[str]) -> set[str]:
        self.calls.append(list(group))
        if self.transient_after is not None and len(self.calls) > self.transient_after:
            raise ConnectionRefusedError("database down")
        bad = self.poisoned & set(group)
        if bad:
            raise decimal.InvalidOperation(f"cannot price {sorted(bad)}")
        self.advanced |= set(group)
        return set(group)


def transient(exc: BaseException) -> bool:
    return isinstance(exc, OSError)


async def test_the_failing_projects_are_isolated_and_the_others_advanced() -> None:
    projects = [f"p{i:03}" for i in range(100)]
    fake = FakeAdvance({"p017", "p064"})
    outcome = await advance_isolating(fake, projects, transient=transient)
    assert outcome.advanced == set(projects) - {"p017", "p064"}
    assert fake.advanced == outcome.advanced
    assert set(outcome.failed) == {"p017", "p064"}
    assert isinstance(outcome.failed["p017"], decimal.InvalidOperation)
    # bisection: a few transactions per poisoned project, not one per project
    assert len(fake.calls) <= 2 * 2 * 7 + 1


async def test_a_batch_without_poison_is_one_transaction() -> None:
    fake = FakeAdvance(set())
    outcome = await advance_isolating(fake, ["b", "a", "a"], transient=transient)
    assert fake.calls == [["a", "b"]]
    assert outcome.advanced == {"a", "b"} and not outcome.failed


async def test_a_transient_failure_blames_nobody() -> None:
    fake = FakeAdvance({"p3"}, transient_after=1)
    with pytest.raises(ConnectionRefusedError):
        await advance_isolating(fake, [f"p{i}" for i in range(8)], transient=transient)


async def test_a_lone_failing_project_is_reported_with_its_error() -> None:
    fake = FakeAdvance({"only"})
    outcome = await advance_isolating(fake, ["only"], transient=transient)
    assert not outcome.advanced and list(outcome.failed) == ["only"]


def test_a_parked_project_is_scheduled_again_without_a_message() -> None:
    scheduler = Scheduler()
    scheduler.retry("p", 40)
    batch = scheduler.next_batch()
    assert batch is not None and batch.projects == ("p",) and batch.upto == 40 and batch.heavy
    scheduler.completed(["p"], 40)
    assert scheduler.next_batch() is None
