"""A quiet book (replay, as_of: nothing published, no totals per event) ends in the
same state as a publishing one, to the last digit of every Decimal (R1.1)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import test_recalc_examples
from hypothesis import given, settings
from recalc_log import Log
from test_recalc_properties import logs

from services.recalc.domain.book import FinanceBook
from services.recalc.domain.reference import ReferenceData
from shared.events import EventData, FinancesRecalculationRequested, RecordedEvent


def quiet_replay(events: list[RecordedEvent], *, columnar: bool = True) -> FinanceBook:
    reference = ReferenceData()
    book = FinanceBook(reference, quiet=True, columnar=columnar)
    for event in events:
        reference.apply(event)
        if event.stream.startswith("project-"):
            assert book.apply(event) == []  # R6.4 is the publishing book's job
    return book


def snapshot(book: FinanceBook) -> str:
    """Every line, setting, view and total of every project; repr keeps each Decimal's
    exponent, so 10.00 and 10.0 differ here."""
    out: dict[str, Any] = {}
    for project_id in sorted(book.projects):
        state = book.projects[project_id]
        out[project_id] = (
            state.info,
            sorted(state.tasks.items()),
            sorted(state.hours.items()),
            sorted(state.expenses.items()),
            sorted(state.records.items()),
            book.totals(project_id),
            sorted(book.task_views(project_id), key=lambda v: v.task_id),
            [book.record_view(r) for r in sorted(state.records)],
        )
    return repr(out)


def assert_same(log: Log) -> None:
    """The quiet book priced by the same path as the log's (columns or scalar)."""
    assert snapshot(quiet_replay(log.events, columnar=log.columnar)) == snapshot(log.book)


@pytest.fixture
def every_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Log]]:
    """Every `Log` an example builds."""
    made: list[Log] = []
    original = Log.__init__

    def init(self: Log, *args: Any, **kw: Any) -> None:
        original(self, *args, **kw)
        made.append(self)

    monkeypatch.setattr(Log, "__init__", init)
    yield made


EXAMPLES = [
    fn
    for name, fn in inspect.getmembers(test_recalc_examples, inspect.isfunction)
    if name.startswith("test_e") and not inspect.signature(fn).parameters
]


def test_the_examples_cover_e1_to_e13() -> None:
    names = {fn.__name__.split("_")[1] for fn in EXAMPLES}
    assert {f"e{i}" for i in range(1, 14)} <= names


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "scalar"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda fn: fn.__name__)
def test_quiet_book_ends_like_the_publishing_book_on_examples(
    example: Any, columnar: bool, every_log: list[Log], monkeypatch: pytest.MonkeyPatch
) -> None:  # R1.1, E1–E13
    monkeypatch.setattr(Log, "columnar", columnar)
    example()
    assert every_log
    for log in every_log:
        assert_same(log)


@settings(max_examples=40, deadline=None)
@given(logs())
def test_quiet_book_ends_like_the_publishing_book(events: list[EventData]) -> None:  # R1.1
    log = Log()
    for data in [*events, FinancesRecalculationRequested(project_ids=("P",))]:
        log(data)
    assert_same(log)
