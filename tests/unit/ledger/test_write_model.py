"""The write model as a whole: streams, versions, undo of refused batches, replay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ledger_model_kit import ev, log_hour, ok, refused, seeded

from services.ledger.domain.recalc_split import split_recalculation
from services.ledger.domain.write_model import WriteModel, build_model
from shared.events import FinancesRecalculationRequested, RecordedEvent


def snapshot(m: WriteModel) -> tuple[object, ...]:
    return (
        dict(m.versions),
        set(m.roles),
        set(m.users),
        set(m.companies),
        {k: (v.planned_start, v.planned_completion) for k, v in m.projects.items()},
        {k: (v.project, v.record, v.on_records, v.revenue_type) for k, v in m.tasks.items()},
        {k: (v.task, v.record, v.counts_as_revenue) for k, v in m.hours.items()},
        set(m.deleted_hours),
    )


def test_rollback_restores_the_model_exactly() -> None:  # all or nothing (api.md)
    m = seeded()
    log_hour(m, "H1")
    before = snapshot(m)
    m.begin()
    m.decide(ev("JobRoleDefined", role_id="R2", name="x"))
    m.decide(ev("TaskMoved", task_id="T", to_project_id="Q"))
    m.decide(ev("HoursDeleted", hour_id="H1"))
    m.decide(ev("BillingRecordItemsAdded", billing_record_id="B", task_ids=["F"]))
    m.decide(ev("ProjectUpdated", project_id="P", planned_start="2023-01-01"))
    assert snapshot(m) != before
    m.rollback()
    assert snapshot(m) == before


def test_a_refused_event_leaves_the_model_unchanged() -> None:  # R9
    m = seeded()
    before = snapshot(m)
    refused(m, ev("TaskMoved", task_id="T", to_project_id="ghost"))
    assert snapshot(m) == before


def test_later_events_of_a_batch_see_earlier_ones() -> None:  # api.md
    m = WriteModel()
    out = ok(
        m,
        ev("ProjectCreated", project_id="P", name="P"),
        ev("TaskCreated", task_id="T", project_id="P", name="T"),
        ev("TaskStatusChanged", task_id="T", status="in_progress"),
    )
    assert out == [("project-P", 1), ("project-P", 2), ("project-P", 3)]


def test_replaying_the_log_rebuilds_the_same_state() -> None:  # R1.1
    m = seeded()
    log_hour(m, "H1")
    events = [
        ev("JobRoleDefined", role_id="R", name="Consultant"),
        ev("UserDefined", user_id="U", name="U", primary_role_id="R"),
        ev("ProjectCreated", project_id="P", name="P"),
    ]
    at = datetime(2023, 6, 19, tzinfo=UTC)
    recorded = [
        RecordedEvent(i + 1, str(uuid.uuid4()), s, v, at, "t", e)
        for i, (e, (s, v)) in enumerate(zip(events, ok(WriteModel(), *events), strict=True))
    ]
    rebuilt = build_model(recorded)
    assert rebuilt.position == 3
    assert rebuilt.versions == {"role-R": 1, "user-U": 1, "project-P": 1}
    assert refused(rebuilt, ev("ProjectCreated", project_id="P", name="P")).code == "duplicate_id"


def test_split_gives_one_event_per_distinct_project_with_stable_ids() -> None:  # R10.9
    rid = uuid.uuid4()
    request = FinancesRecalculationRequested(project_ids=("P", "Q", "P"), scope="planned")
    parts = split_recalculation(rid, request)
    assert [(p.project_ids, p.scope) for _, p in parts] == [
        (("P",), "planned"),
        (("Q",), "planned"),
    ]
    assert [i for i, _ in parts] == [uuid.uuid5(rid, "P"), uuid.uuid5(rid, "Q")]
    assert split_recalculation(rid, request) == parts  # a retry is the same request
    single = FinancesRecalculationRequested(project_ids=("P",))
    assert split_recalculation(rid, single) == [(rid, single)]


def test_rollback_to_a_mark_takes_back_one_batch_of_a_group() -> None:
    # a group appends several client batches; one refused is undone alone (api.md)
    m = seeded()
    log_hour(m, "H1")
    before = snapshot(m)
    m.begin()
    m.decide(ev("JobRoleDefined", role_id="R2", name="x"))  # batch 1
    after_first = snapshot(m)
    mark = m.mark()
    m.decide(ev("TaskMoved", task_id="T", to_project_id="Q"))  # batch 2, later refused
    m.decide(ev("HoursDeleted", hour_id="H1"))
    m.rollback_to(mark)
    assert snapshot(m) == after_first
    m.decide(ev("UserDefined", user_id="U2", name="x", primary_role_id="R2"))  # batch 3
    m.commit(m.position + 2)
    assert "R2" in m.roles and "U2" in m.users and "H1" in m.hours
    assert m.tasks["T"].project == "P" and snapshot(m) != before


def test_rollback_after_marks_restores_the_whole_group() -> None:
    m = seeded()
    before = snapshot(m)
    m.begin()
    m.decide(ev("JobRoleDefined", role_id="R2", name="x"))
    m.mark()
    m.decide(ev("TaskMoved", task_id="T", to_project_id="Q"))
    m.rollback()
    assert snapshot(m) == before


def test_every_event_type_the_ledger_takes_has_its_rule() -> None:
    """The dispatch is one explicit dict (no registration by import): an event type
    added to the contract without a rule is caught here, not by a client's 400."""
    from services.ledger.domain.write_model import HANDLERS
    from shared.events.base import EVENT_TYPES

    outputs = {"FinancesRecalculated", "ProjectFinancesChanged"}  # the finance topic's
    assert {t.__name__ for t in HANDLERS} == set(EVENT_TYPES) - outputs
    assert all(EVENT_TYPES[t.__name__] is t for t in HANDLERS)
