"""A quiet book (replay, as_of: nothing published, no totals per event) ends in the
same state as a publishing one, to the last digit of every Decimal (R1.1)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import test_recalc_examples
from hypothesis import given, settings
from recalc_log import Log, rates
from test_recalc_properties import logs

from services.recalc.domain.finance_book import FinanceBook
from services.recalc.domain.reference import ReferenceData
from shared.events import (
    EventData,
    FinancesRecalculationRequested,
    HoursLogged,
    HoursLoggedAt,
    ProjectCreated,
    RecordedEvent,
    TaskCreated,
    TaskUpdated,
    UserDefined,
    encode_data,
)
from shared.events.trusted import logged_hours


def quiet_replay(events: list[RecordedEvent], *, columnar: bool = True) -> FinanceBook:
    """As a replay applies the log: `HoursLogged` read bare (`eventlog.read_history`)."""
    reference = ReferenceData()
    book = FinanceBook(reference, quiet=True, columnar=columnar)
    for event in events:
        reference.apply(event)
        if not event.stream.startswith("project-"):
            continue
        if isinstance(event.data, HoursLogged):
            bare = logged_hours(encode_data(event.data))
            assert bare is not None
            book.apply_stored(HoursLoggedAt(event.position, event.stream, bare))
        else:
            assert book.apply_stored(event) == []  # R6.4 is the publishing book's job
    book.settle()  # plans are priced late (finance_book.py)
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


def _plan_log(*later: EventData) -> Log:
    """A task whose plan changes at position 5, then `later`."""
    log = Log()
    log(UserDefined(user_id="U", name="U"))
    log(rates("user", "cost", "10.00", user_id="U"))
    log(ProjectCreated(project_id="P", name="P"))
    log(
        TaskCreated.model_validate(
            {
                "task_id": "T",
                "project_id": "P",
                "name": "T",
                "planned_hours": "8",
                "planned_start": "2023-06-19",
                "planned_completion": "2023-06-19",
                "assignments": [{"user_id": "U"}],
            }
        )
    )
    log(TaskUpdated.model_validate({"task_id": "T", "planned_hours": "4"}))
    for data in later:
        log(data)
    return log


@pytest.mark.parametrize(
    "later",
    [
        # a rate change after the plan's: the plan keeps the rate known at its position
        [rates("user", "cost", "20.00", user_id="U")],
        # a change of what a pricer reads: the plan waiting is priced before it
        [TaskUpdated.model_validate({"task_id": "T", "assignments": []})],
        [rates("user", "cost", "20.00", user_id="U"), TaskUpdated(task_id="T", name="x")],
        # a later plan change replaces the waiting one, at its own position
        [
            rates("user", "cost", "20.00", user_id="U"),
            TaskUpdated.model_validate({"task_id": "T", "planned_hours": "2"}),
        ],
    ],
    ids=["rates-after", "assignments-after", "rates-and-name", "second-plan"],
)
def test_a_plan_priced_late_is_priced_as_at_its_position(later: list[EventData]) -> None:
    log = _plan_log(*later)
    quiet = quiet_replay(log.events)
    assert snapshot(quiet) == snapshot(log.book)
    task = quiet.projects["P"].tasks["T"]
    assert task.planned_cost == log.book.projects["P"].tasks["T"].planned_cost
    assert task.plan_priced_at == log.book.projects["P"].tasks["T"].plan_priced_at


def test_a_quiet_book_prices_a_plan_only_when_it_must() -> None:
    log = _plan_log(rates("user", "cost", "20.00", user_id="U"))
    book = FinanceBook(log.reference, quiet=True)
    for event in log.events:
        if event.stream.startswith("project-"):
            book.apply(event)
    task = book.projects["P"].tasks["T"]
    assert task.plan_priced_at is None  # waiting: nothing has read it
    assert book.totals("P").planned_cost == Decimal("40.00")  # 4 h at 10.00, not 20.00
    assert task.plan_priced_at == 5


def _hours(hour_id: str) -> HoursLogged:
    return HoursLogged.model_validate(
        {
            "hour_id": hour_id,
            "owner_id": "U",
            "task_id": "T",
            "entry_date": "2023-06-19",
            "hours": "1",
        }
    )


@pytest.mark.parametrize("incremental", [True, False], ids=["fed-as-it-goes", "fed-first"])
def test_a_quiet_book_reuses_a_pricer_only_until_the_reference_changes(incremental: bool) -> None:
    """R1.4: each entry at its own position's rates, though a quiet book keeps one
    pricer (and its memos) across the entries between two reference changes. The
    reference is fed as the worker feeds it, or whole first as a replay does."""
    log = _plan_log(
        _hours("h1"),
        _hours("h2"),
        rates("user", "cost", "20.00", user_id="U"),
        _hours("h3"),
        rates("user", "cost", "30.00", user_id="U"),
        _hours("h4"),
    )
    if incremental:
        book = quiet_replay(log.events)
    else:
        book = FinanceBook(log.reference, quiet=True)
        for event in log.events:
            if event.stream.startswith("project-"):
                book.apply(event)
    costs = {h.hour_id: h.cost for h in book.projects["P"].hours.values()}
    assert costs == {
        "h1": Decimal("10.00"),
        "h2": Decimal("10.00"),
        "h3": Decimal("20.00"),
        "h4": Decimal("30.00"),
    }
    assert snapshot(book) == snapshot(log.book)
