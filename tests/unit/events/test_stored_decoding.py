"""What the log holds always decodes, even past today's input limits (stored.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import orjson
import pytest
from pydantic import ValidationError

from shared.events import Assignment, ProjectCreated, RatePeriod, RatesSet, TaskCreated
from shared.events.codec import decode_data

# as an older, laxer ledger stored them
OLD = {
    "ProjectCreated": {"project_id": "p", "name": "n" * 5000, "budget": "1" + "0" * 27},
    "RatesSet": {
        "level": "user",
        "rate_type": "billing",
        "user_id": "u",
        "periods": [{"value": "9" * 28, "start_date": "0001-01-03"}],
    },
    "TaskCreated": {
        "task_id": "t",
        "project_id": "p",
        "name": "T",
        "planned_hours": "100",
        "planned_start": "0001-01-03",
        "planned_completion": "9999-12-30",
        "assignments": [{"user_id": "u", "allocation_percent": "50"}],
    },
}


@pytest.mark.parametrize("name", sorted(OLD))
def test_todays_limits_refuse_it_at_the_door(name: str) -> None:
    cls = {"ProjectCreated": ProjectCreated, "RatesSet": RatesSet, "TaskCreated": TaskCreated}
    with pytest.raises(ValidationError):
        cls[name].model_validate(OLD[name])


@pytest.mark.parametrize("as_text", [True, False])
def test_the_log_still_decodes_it_as_the_real_classes(as_text: bool) -> None:
    def decode(name: str) -> object:
        raw = orjson.dumps(OLD[name]) if as_text else OLD[name]
        return decode_data(name, 1, raw)

    project = decode("ProjectCreated")
    assert isinstance(project, ProjectCreated)
    assert project.budget == Decimal(10) ** 27 and len(project.name) == 5000
    assert project.provided() == {"project_id", "name", "budget"}
    assert project.status == "planning"  # defaults as usual

    rates = decode("RatesSet")
    assert isinstance(rates, RatesSet)
    assert isinstance(rates.periods[0], RatePeriod)
    assert rates.periods[0].value == Decimal("9" * 28)
    assert rates.periods[0].start_date == date(1, 1, 3) and rates.periods[0].end_date is None

    task = decode("TaskCreated")
    assert isinstance(task, TaskCreated)
    assert task.planned_completion == date(9999, 12, 30)
    assert task.assignments == (Assignment(user_id="u", allocation_percent=Decimal(50)),)


def test_a_payload_of_the_wrong_shape_is_still_refused() -> None:
    with pytest.raises(ValidationError):
        decode_data("ProjectCreated", 1, {"project_id": "p"})  # no name
    with pytest.raises(ValidationError):
        decode_data("ProjectCreated", 1, {"project_id": "p", "name": "n", "budget": "x"})
