"""Rate tables and reference data by knowledge position (R1.2, R4.1, R4.2, R4.6, R10.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from recalc_log import D, period, rates

from services.recalc.domain.rates import make_table, override_rate_on, rate_on
from services.recalc.domain.reference import ReferenceData
from shared.events import RecordedEvent, UserDefined, UserRolesChanged

TABLE = make_table(
    [
        period("30", start="2023-07-01"),
        period("10", end="2023-03-31"),
        period("20", "2023-04-10", "2023-06-20"),
    ]
)


def test_rate_on_finds_the_period_and_inclusive_bounds() -> None:  # R4.1, R10.4
    assert rate_on(TABLE, date(2000, 1, 1)) == D(10)
    assert rate_on(TABLE, date(2023, 3, 31)) == D(10)
    assert rate_on(TABLE, date(2023, 4, 10)) == D(20)
    assert rate_on(TABLE, date(2023, 6, 20)) == D(20)
    assert rate_on(TABLE, date(2030, 1, 1)) == D(30)


def test_gap_and_empty_table_mean_no_rate() -> None:  # R4.2
    assert rate_on(TABLE, date(2023, 4, 5)) is None
    assert rate_on(TABLE, date(2023, 6, 25)) is None
    assert rate_on((), date(2023, 6, 25)) is None


def test_zero_is_a_real_rate() -> None:  # R4.2
    assert rate_on(make_table([period("0")]), date(2023, 1, 1)) == D(0)


def test_override_outside_periods_uses_first_and_last() -> None:  # R4.6, R10.4
    table = make_table(
        [period("150", start="2023-06-26"), period("100", "2023-06-19", "2023-06-23")]
    )
    assert override_rate_on(table, date(2023, 1, 1)) == D(100)
    assert override_rate_on(table, date(2023, 6, 24)) is None  # a gap falls through
    assert override_rate_on(table, date(2024, 1, 1)) == D(150)
    single = make_table([period("70", "2023-06-19", "2023-06-20")])
    assert override_rate_on(single, date(2020, 1, 1)) == D(70)
    assert override_rate_on(single, date(2030, 1, 1)) == D(70)


def _event(position: int, data: object, stream: str = "user-U") -> RecordedEvent:
    return RecordedEvent(
        position, f"e{position}", stream, 1, datetime(2023, 1, 1, tzinfo=UTC), "t", data
    )  # type: ignore[arg-type]


def test_reference_answers_as_known_at_a_position() -> None:  # R1.2
    ref = ReferenceData()
    ref.apply(_event(3, UserDefined(user_id="U", name="U", primary_role_id="A")))
    ref.apply(_event(5, rates("user", "billing", "50", user_id="U")))
    ref.apply(_event(8, rates("user", "billing", "75", user_id="U")))
    ref.apply(_event(9, UserRolesChanged(user_id="U", primary_role_id="B", other_role_ids=("C",))))
    ref.apply(_event(11, rates("user", "billing", user_id="U")))
    day = date(2023, 1, 1)
    assert rate_on(ref.user_billing("U", 4), day) is None
    assert rate_on(ref.user_billing("U", 5), day) == D(50)
    assert rate_on(ref.user_billing("U", 10), day) == D(75)
    assert rate_on(ref.user_billing("U", 11), day) is None
    assert ref.user_roles("U", 2) == (None, ())
    assert ref.user_roles("U", 8) == ("A", ())
    assert ref.user_roles("U", 9) == ("B", ("C",))  # R10.11: replaces both
    assert ref.position == 11
