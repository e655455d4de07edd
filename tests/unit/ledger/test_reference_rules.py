"""R9 for reference data and rate tables."""

from __future__ import annotations

import pytest
from ledger_model_kit import ev, ok, refused, seeded

from services.ledger.domain.write_model import WriteModel


def rates(level: str = "user", rate_type: str = "billing", **kw: object) -> object:
    targets = {
        "role": {"role_id": "R"},
        "user": {"user_id": "U"},
        "company_role": {"company_id": "C", "role_id": "R"},
        "project_role": {"project_id": "P", "role_id": "R"},
    }[level]
    return ev("RatesSet", level=level, rate_type=rate_type, **{**targets, **kw})


def test_duplicate_ids_are_refused_for_roles_users_companies() -> None:  # R9
    m = seeded()
    for event, field in [
        (ev("JobRoleDefined", role_id="R", name="x"), "data.role_id"),
        (ev("UserDefined", user_id="U", name="x"), "data.user_id"),
        (ev("CompanyDefined", company_id="C", name="x"), "data.company_id"),
    ]:
        err = refused(m, event)
        assert (err.code, err.field) == ("duplicate_id", field)


def test_user_with_unknown_roles_is_refused() -> None:  # R9 unknown references
    m = seeded()
    err = refused(m, ev("UserDefined", user_id="V", name="V", primary_role_id="ghost"))
    assert (err.code, err.field) == ("unknown_role", "data.primary_role_id")
    err = refused(m, ev("UserDefined", user_id="V", name="V", other_role_ids=["R", "ghost"]))
    assert (err.code, err.field) == ("unknown_role", "data.other_role_ids[1]")


def test_user_roles_changed_needs_a_known_user() -> None:  # R9
    err = refused(seeded(), ev("UserRolesChanged", user_id="ghost", other_role_ids=[]))
    assert (err.code, err.field) == ("unknown_user", "data.user_id")


@pytest.mark.parametrize(
    ("level", "code", "field"),
    [
        ("role", "unknown_role", "data.role_id"),
        ("user", "unknown_user", "data.user_id"),
        ("company_role", "unknown_company", "data.company_id"),
        ("project_role", "unknown_project", "data.project_id"),
    ],
)
def test_rates_need_a_known_target(level: str, code: str, field: str) -> None:  # R9
    m = WriteModel()
    ok(m, ev("JobRoleDefined", role_id="R", name="R"))
    extra = {"role_id": "ghost"} if level == "role" else {}
    err = refused(m, rates(level, periods=[{"value": "10"}], **extra))
    assert (err.code, err.field) == (code, field)


@pytest.mark.parametrize("level", ["company_role", "project_role"])
def test_cost_rates_only_on_roles_and_users(level: str) -> None:  # R4.3
    err = refused(seeded(), rates(level, "cost", periods=[{"value": "10"}]))
    assert (err.code, err.field) == ("cost_rates_not_allowed", "data.rate_type")


def test_rates_go_to_the_stream_of_their_target() -> None:  # events.md streams
    m = seeded()
    streams = [
        ok(m, rates(level, periods=[]))[0][0]
        for level in ("role", "user", "company_role", "project_role")
    ]
    assert streams == ["role-R", "user-U", "company-C", "project-P"]
    assert ok(m, rates("role", "cost", periods=[]))[0] == ("role-R", 3)


def test_period_ending_before_it_starts_is_refused() -> None:  # R10.4
    err = refused(
        seeded(),
        rates(periods=[{"value": "1", "start_date": "2023-06-20", "end_date": "2023-06-19"}]),
    )
    assert (err.code, err.field) == ("rate_period_invalid", "data.periods[0].end_date")


@pytest.mark.parametrize(
    "periods",
    [
        # inclusive bounds: ending and starting on the same day overlap (R10.4)
        [{"value": "1", "end_date": "2023-06-20"}, {"value": "2", "start_date": "2023-06-20"}],
        # two open-ended periods
        [{"value": "1", "start_date": "2023-01-01"}, {"value": "2", "start_date": "2023-06-01"}],
        # listed out of order, still overlapping
        [{"value": "2", "start_date": "2023-06-01"}, {"value": "1"}],
    ],
)
def test_overlapping_periods_are_refused(periods: list[dict[str, str]]) -> None:  # R4.1
    err = refused(seeded(), rates(periods=periods))
    assert err.code == "rate_periods_overlap"
    assert err.field is not None and err.field.endswith(".start_date")


def test_overlap_names_the_later_period() -> None:  # R4.1
    periods = [
        {"value": "3", "start_date": "2023-07-01"},
        {"value": "1", "end_date": "2023-04-30"},
        {"value": "2", "start_date": "2023-05-01", "end_date": "2023-07-01"},
    ]
    err = refused(seeded(), rates(periods=periods))
    assert err.field == "data.periods[0].start_date"


def test_adjacent_periods_and_gaps_are_accepted() -> None:  # R4.1
    periods = [
        {"value": "20", "end_date": "2023-04-30"},
        {"value": "25", "start_date": "2023-05-01", "end_date": "2023-05-31"},
        {"value": "30", "start_date": "2023-07-01"},
    ]
    assert ok(seeded(), rates(periods=periods)) == [("user-U", 2)]
