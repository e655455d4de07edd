"""A replay's shard logs `HoursLogged` bare (`FinanceBook.log_bare`: the fields, the
stream and the position, no tuple of them) and untracked; it ends like the publishing
book, to the last digit (R1.1), on the worked examples' logs and on generated ones."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "recalc"))  # the recalc unit tests' kits

import pytest
from hypothesis import given, settings
from recalc_log import Log, rates
from test_recalc_properties import logs
from test_recalc_quiet import snapshot

from services.recalc.domain.finance_book import FinanceBook
from services.recalc.domain.reference import ReferenceData
from shared.events import (
    EventData,
    FinancesRecalculationRequested,
    HoursLogged,
    ProjectCreated,
    RecordedEvent,
    UserDefined,
    encode_data,
)
from shared.events.trusted import logged_hours


def bare_replay(events: list[RecordedEvent]) -> FinanceBook:
    """As a shard applies the log (replay_shard.rebuild_shard)."""
    reference = ReferenceData()
    book = FinanceBook(reference, quiet=True)
    for event in events:
        reference.apply(event)
        if not event.stream.startswith("project-"):
            continue
        if isinstance(event.data, HoursLogged):
            fields = logged_hours(encode_data(event.data))
            assert fields is not None
            book.log_bare(event.stream, event.position, fields)
        else:
            book.apply(event)
    book.settle()
    return book


@settings(max_examples=40, deadline=None)
@given(logs())
def test_bare_hours_end_like_the_publishing_book(events: list[EventData]) -> None:  # R1.1
    log = Log()
    for data in [*events, FinancesRecalculationRequested(project_ids=("P",))]:
        log(data)
    book = bare_replay(log.events)
    assert snapshot(book) == snapshot(log.book)


def test_bare_hours_are_not_tracked() -> None:
    log = Log()
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "cost", "10.00", user_id="U"))
    log(ProjectCreated(project_id="P", name="P"))
    for hour_id in ("h1", "h2"):
        log(
            HoursLogged.model_validate(
                {
                    "hour_id": hour_id,
                    "owner_id": "U",
                    "project_id": "P",
                    "entry_date": "2023-06-19",
                    "hours": "2",
                }
            )
        )
    book = bare_replay(log.events)
    assert snapshot(book) == snapshot(log.book)
    state = book.projects["P"]
    assert state.hours["h2"].cost == Decimal("20.00")
    assert state.take_changes().hours == frozenset()
    assert log.book.projects["P"].take_changes().hours == {"h1", "h2"}  # a tracked book


def test_bare_hours_need_a_quiet_book() -> None:
    with pytest.raises(ValueError, match="quiet"):
        FinanceBook(ReferenceData()).log_bare("project-P", 1, None)  # type: ignore[arg-type]
