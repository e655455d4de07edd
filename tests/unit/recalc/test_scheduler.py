"""The worker's batching (pure bookkeeping: no server).

Heavy projects (a recalculation, R6.2/R6.3) go a few at a time, cheap ones many at a
time, alternating; offsets are committable only once every project a message names
is done."""

from __future__ import annotations

from services.recalc.service_layer.scheduler import Notice, Scheduler


def test_heavy_projects_are_batched_up_to_the_limit_and_alternate_with_cheap() -> None:
    s = Scheduler(cheap_batch=3, heavy_batch=2)
    for offset, project in enumerate(["h1", "h2", "h3"]):
        s.add("p0", offset, Notice(10 + offset, (project,), True))  # R6.2 requests
    for offset, project in enumerate(["c1", "c2"], start=3):
        s.add("p0", offset, Notice(20 + offset, (project,), False))
    first = s.next_batch()
    assert first is not None and first.heavy
    assert first.projects == ("h1", "h2")
    assert first.upto == 11
    s.completed(first.projects, first.upto)
    second = s.next_batch()  # cheap work is not held back by the third heavy one
    assert second is not None and not second.heavy
    assert second.projects == ("c1", "c2")
    s.completed(second.projects, second.upto)
    third = s.next_batch()
    assert third is not None and third.heavy and third.projects == ("h3",)
    # h3's message (offset 2) is still pending: only offsets before it are committable
    assert s.take_commits() == {"p0": 2}
    s.completed(third.projects, third.upto)
    assert s.take_commits() == {"p0": 5}
    assert s.next_batch() is None


def test_redelivered_notice_of_done_work_needs_no_batch() -> None:
    s = Scheduler()
    s.add("p0", 0, Notice(5, ("a",), True))
    batch = s.next_batch()
    assert batch is not None
    s.completed(batch.projects, batch.upto)
    s.add("p0", 0, Notice(5, ("a",), True))  # redelivered after a restart of the consumer
    assert s.next_batch() is None
    assert s.take_commits() == {"p0": 1}


def test_the_next_heavy_batch_can_be_told_ahead() -> None:
    """What the worker loads ahead while a heavy batch runs (`Advancer.load_ahead`)."""
    s = Scheduler(cheap_batch=3, heavy_batch=2)
    for offset, project in enumerate(["h1", "h2", "h3", "h4", "h5"]):
        s.add("p0", offset, Notice(10 + offset, (project,), True))
    s.add("p0", 5, Notice(30, ("c1",), False))
    first = s.next_batch()
    assert first is not None and first.projects == ("h1", "h2")
    assert s.heavy_after(first) == ["h3", "h4"]  # cheap c1 is never loaded ahead
    s.completed(first.projects, first.upto)
    cheap = s.next_batch()
    assert cheap is not None and not cheap.heavy
    assert s.heavy_after(cheap) == ["h3", "h4"]
    s.completed(cheap.projects, cheap.upto)
    second = s.next_batch()
    assert second is not None and second.projects == ("h3", "h4")
    assert s.heavy_after(second) == ["h5"]
