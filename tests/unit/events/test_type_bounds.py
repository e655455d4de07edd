"""The bounds of the event types: what pricing cannot carry is refused at the door
(README "Input limits")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import parse_data
from shared.events.types import MAX_MONEY, quote

HOUR = {"hour_id": "H", "owner_id": "U", "task_id": "T", "entry_date": "2023-06-19", "hours": "1"}


def refusal(type_name: str, **data: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as caught:
        parse_data(type_name, data)
    first = caught.value.errors()[0]
    return tuple(first["loc"]), first["msg"]


def project(**data: Any) -> dict[str, Any]:
    return {"project_id": "P", "name": "P", **data}


def task(**data: Any) -> dict[str, Any]:
    return {"task_id": "T", "project_id": "P", "name": "T", **data}


@pytest.mark.parametrize(
    "budget",
    [
        "1000000000000",  # 10^12
        "1000000000000000000000000000",
        "9" * 28,
        "9" * 60,  # was a 500: quantize at 28 digits
        1e300,  # a JSON number
        "999999999999.99999",  # five places
    ],
)
def test_money_over_the_maximum_is_refused(budget: Any) -> None:
    loc, _ = refusal("ProjectCreated", **project(budget=budget))
    assert loc == ("budget",)


def test_money_up_to_the_maximum_is_accepted() -> None:
    data = parse_data("ProjectCreated", project(budget="999999999999.9999", fixed_cost=0))
    assert data.budget == MAX_MONEY  # type: ignore[attr-defined]
    rates = parse_data(
        "RatesSet",
        {"level": "role", "rate_type": "cost", "role_id": "R", "periods": [{"value": "9" * 12}]},
    )
    assert rates.periods[0].value == Decimal("999999999999")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "1e999",
        "-1e999",
        "1E+3",
        "1_000",
        " 5 ",
        "5 ",
        "+5",
        ".5",
        "5.",
        "0x10",
        "Infinity",
        "NaN",
        "",
    ],
)
def test_an_amount_sent_as_a_string_is_a_plain_decimal_literal(text: str) -> None:
    loc, msg = refusal("ProjectCreated", **project(budget=text))
    assert loc == ("budget",)
    assert "plain decimal" in msg


def test_amounts_keep_json_numbers_and_plain_strings() -> None:
    data = parse_data(
        "TaskCreated", task(planned_hours=12, fixed_hourly_cost="0050.50", revenue_amount=99.5)
    )
    assert data.planned_hours == 12  # type: ignore[attr-defined]
    assert str(data.fixed_hourly_cost) == "50.5"  # type: ignore[attr-defined]
    assert data.revenue_amount == Decimal("99.5")  # type: ignore[attr-defined]
    hour = parse_data("HoursLogged", {**HOUR, "hours": 1.5})
    assert hour.hours == Decimal("1.5")  # type: ignore[attr-defined]
    loc, _ = refusal("HoursLogged", **{**HOUR, "hours": "1_0"})
    assert loc == ("hours",)
    loc, _ = refusal(
        "TaskCreated", **task(assignments=[{"user_id": "U", "allocation_percent": "5 "}])
    )
    assert loc == ("assignments", 0, "allocation_percent")


def test_planned_hours_are_at_most_ten_million() -> None:
    ok = parse_data("TaskUpdated", {"task_id": "T", "planned_hours": "10000000"})
    assert ok.planned_hours == 10_000_000  # type: ignore[attr-defined]
    for hours in ("10000000.0001", "10000001", "999999999999"):
        assert refusal("TaskCreated", **task(planned_hours=hours))[0] == ("planned_hours",)
        assert refusal("TaskUpdated", task_id="T", planned_hours=hours)[0] == ("planned_hours",)


def test_the_worst_planned_cost_fits_decimals_28_digits() -> None:
    # what the recalc does with the largest plan the types let in: no InvalidOperation
    worst = (Decimal(10_000_000) * MAX_MONEY).quantize(Decimal("0.01"))
    assert worst < Decimal(10) ** 19
    assert (worst * 10_000_000).quantize(Decimal("0.01")) > 0


@pytest.mark.parametrize(
    ("type_name", "data", "loc"),
    [
        ("TaskCreated", task(planned_completion="9999-12-31"), ("planned_completion",)),
        ("TaskCreated", task(planned_start="1899-12-31"), ("planned_start",)),
        ("ProjectCreated", project(planned_start="2200-01-01"), ("planned_start",)),
        ("ProjectUpdated", {"project_id": "P", "planned_completion": "0001-01-01"}, None),
        ("HoursLogged", {**HOUR, "entry_date": "2200-01-01"}, ("entry_date",)),
        ("HoursEdited", {"hour_id": "H", "entry_date": "1800-06-01"}, ("entry_date",)),
        (
            "ExpenseRecorded",
            {"expense_id": "E", "project_id": "P", "expense_type": "x", "paid_date": "2500-01-01"},
            ("paid_date",),
        ),
        ("ExpenseUpdated", {"expense_id": "E", "planned_date": "1000-01-01"}, ("planned_date",)),
        (
            "BillingRecordCreated",
            {
                "billing_record_id": "B",
                "project_id": "P",
                "description": "d",
                "billing_date": "2300-01-01",
            },
            ("billing_date",),
        ),
        (
            "BillingRecordUpdated",
            {"billing_record_id": "B", "billing_date": "1899-01-01"},
            ("billing_date",),
        ),
        (
            "RatesSet",
            {
                "level": "role",
                "rate_type": "cost",
                "role_id": "R",
                "periods": [
                    {"value": "1", "end_date": "2023-01-01"},
                    {"value": "2", "start_date": "2023-01-02", "end_date": "9999-12-31"},
                ],
            },
            ("periods", 1, "end_date"),
        ),
    ],
)
def test_every_date_lies_in_1900_to_2199(type_name: str, data: dict[str, Any], loc: Any) -> None:
    got, msg = refusal(type_name, **data)
    if loc is not None:
        assert got == loc
    assert "greater than or equal" in msg or "less than or equal" in msg


def test_the_date_range_includes_both_ends() -> None:
    for day in ("1900-01-01", "2199-12-31"):
        assert parse_data("HoursLogged", {**HOUR, "entry_date": day}).entry_date == (  # type: ignore[attr-defined]
            date.fromisoformat(day)
        )


@pytest.mark.parametrize(
    "value", [0, 1687132800, "1687132800", "0", "2023-06-19T00:00:00", "20230619", 1.0, True]
)
def test_a_date_is_an_iso_string(value: Any) -> None:
    loc, msg = refusal("HoursLogged", **{**HOUR, "entry_date": value})
    assert loc == ("entry_date",)
    assert "YYYY-MM-DD" in msg


def test_free_text_is_at_most_1000_characters_without_nul() -> None:
    assert parse_data("JobRoleDefined", {"role_id": "R", "name": "é" * 1000})
    assert refusal("JobRoleDefined", role_id="R", name="x" * 1001)[0] == ("name",)
    assert refusal("CompanyDefined", company_id="C", name="a\x00b")[0] == ("name",)
    assert refusal(
        "ExpenseRecorded", expense_id="E", project_id="P", expense_type="x", description="y" * 1001
    )[0] == ("description",)
    assert refusal("BillingRecordUpdated", billing_record_id="B", po_number="\x00")[0] == (
        "po_number",
    )


def test_a_message_never_quotes_a_long_value_whole() -> None:
    _, msg = refusal("ProjectCreated", **project(budget="1" + "_" * 100_000))
    assert len(msg) < 200
    assert quote("x" * 10) == "'xxxxxxxxxx'"
    assert quote("x" * 1000) == "'" + "x" * 80 + "'…"
    assert len(quote(list(range(1000)))) == 81
