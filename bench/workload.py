"""What the scenarios post: mixed-type ingest batches over the organisation, single
events, and the bare copies of the same rows that the limits use. Pure, seeded."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson

from bench.org import BILLABLE_TYPES, FIRST_DAY, LAST_DAY, Ev, Org, Project, money

CHUNK = 20  # events of one project that travel together (they reference each other)
_DAYS = (LAST_DAY - FIRST_DAY).days

# A bare row of the hours table: hour_id, project_id, owner_id, entry_date, hours.
HourRow = tuple[str, str, str, date, str]


@dataclass(slots=True)
class Batches:
    bodies: list[bytes]  # request bodies, ready to post
    # The envelopes of the first bodies, enough for the executemany limit (bare rows).
    events: list[list[dict[str, Any]]]
    event_count: int
    hour_rows: list[HourRow]


def event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def envelope(ev: Ev, rng: random.Random) -> dict[str, Any]:
    return {"event_id": event_id(rng), "type": ev.type, "data": ev.data}


def body(envelopes: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": envelopes})


def hours_logged(rng: random.Random, project: Project, hour_id: str) -> Ev:
    task = rng.choice(project.tasks)
    owner = rng.choice(task.assignees if rng.random() < 0.8 else project.team)
    day = FIRST_DAY + timedelta(days=rng.randint(0, _DAYS))
    data = {
        "hour_id": hour_id,
        "owner_id": owner,
        "task_id": task.task_id,
        "entry_date": day.isoformat(),
        "hours": f"{rng.randint(25, 800) / 100:.2f}",
    }
    return Ev("HoursLogged", data, f"project-{project.project_id}")


def _chunk(rng: random.Random, project: Project, serial: int, hours: int) -> list[Ev]:
    """`hours` hour entries plus an edit, an expense, a plan change and, one chunk
    in four, a billing record holding a few of the chunk's billable hours."""
    pid = project.project_id
    stream = f"project-{pid}"
    logged = [hours_logged(rng, project, f"{pid}-h{serial:06d}-{i:02d}") for i in range(hours)]
    out = list(logged)
    edited = rng.choice(logged).data
    edited["hours"] = f"{rng.randint(25, 800) / 100:.2f}"  # the bare copy keeps the edit
    out.append(Ev("HoursEdited", {"hour_id": edited["hour_id"], "hours": edited["hours"]}, stream))
    out.append(
        Ev(
            "ExpenseRecorded",
            {
                "expense_id": f"{pid}-e{serial:06d}",
                "project_id": pid,
                "task_id": rng.choice(project.tasks).task_id,
                "expense_type": "travel",
                "planned_amount": money(rng, 10, 500),
                "actual_amount": money(rng, 10, 500),
                "billable": rng.random() < 0.5,
            },
            stream,
        )
    )
    task = rng.choice(project.tasks)
    out.append(
        Ev(
            "TaskUpdated",
            {"task_id": task.task_id, "planned_hours": str(rng.randint(8, 160))},
            stream,
        )
    )
    by_task = {t.task_id: t.revenue_type for t in project.tasks}
    billable = [e.data["hour_id"] for e in logged if by_task[e.data["task_id"]] in BILLABLE_TYPES]
    if serial % 4 == 0 and billable:
        record = f"{pid}-b{serial:06d}"
        out.append(
            Ev(
                "BillingRecordCreated",
                {"billing_record_id": record, "project_id": pid, "description": "Invoice"},
                stream,
            )
        )
        out.append(
            Ev(
                "BillingRecordItemsAdded",
                {"billing_record_id": record, "hour_ids": billable[:5]},
                stream,
            )
        )
    return out


def _chunks(org: Org, size: Any, rng: random.Random) -> Iterator[list[Ev]]:
    """Chunks of all bulk projects, shuffled together; projects[0] gets `hours_big`."""
    n = len(org.projects)
    rest = size.hours_total - size.hours_big
    quota = [size.hours_big] + [
        rest // (n - 1) + (1 if i < rest % (n - 1) else 0) for i in range(n - 1)
    ]
    per_chunk = CHUNK - 5  # room for the edit, expense, plan change and a billing record
    schedule = [i for i, q in enumerate(quota) for _ in range(-(-q // per_chunk))]
    rng.shuffle(schedule)
    serials: dict[int, int] = defaultdict(int)
    for i in schedule:
        hours = min(per_chunk, quota[i])
        quota[i] -= hours
        serials[i] += 1
        yield _chunk(rng, org.projects[i], serials[i], hours)


def ingest_batches(org: Org, size: Any, seed: int = 7) -> Batches:
    """The batched-ingest workload, encoded ahead of time so that building it is not
    timed. Whole chunks only: a batch never splits events that reference each other."""
    rng = random.Random(seed)
    bodies: list[bytes] = []
    events: list[list[dict[str, Any]]] = []
    rows: list[HourRow] = []
    current: list[dict[str, Any]] = []
    count = 0
    for chunk in _chunks(org, size, rng):
        if current and len(current) + len(chunk) > size.batch_size:
            bodies.append(body(current))
            if count <= size.limit_batch_rows:  # keeping all would cost ~1 GiB in a full run
                events.append(current)
            current = []
        for ev in chunk:
            current.append(envelope(ev, rng))
            if ev.type == "HoursLogged":
                d = ev.data
                pid = ev.stream.removeprefix("project-")
                rows.append(
                    (
                        d["hour_id"],
                        pid,
                        d["owner_id"],
                        date.fromisoformat(d["entry_date"]),
                        d["hours"],
                    )
                )
        count += len(chunk)
    if current:
        bodies.append(body(current))
        events.append(current)
    return Batches(bodies, events, count, rows)


def setup_batches(org: Org, batch_size: int, seed: int = 11) -> list[list[bytes]]:
    """The organisation's events, phase by phase, as request bodies."""
    rng = random.Random(seed)
    phases: list[list[bytes]] = []
    for phase in org.phases:
        envs = [envelope(ev, rng) for ev in phase]
        phases.append([body(envs[i : i + batch_size]) for i in range(0, len(envs), batch_size)])
    return phases


def single_events(org: Org, count: int, tag: str, seed: int) -> list[dict[str, Any]]:
    """`count` HoursLogged envelopes spread over the side projects (outside the bulk set,
    so that the recalculation scenarios' entry counts stay exact)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        project = org.side[i % len(org.side)]
        ev = hours_logged(rng, project, f"{project.project_id}-{tag}{i:07d}")
        out.append(envelope(ev, rng))
    return out


def bare_rows(envelopes: Iterable[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """The rows the ledger would store for these envelopes, minus what only the ledger
    knows (its positions and versions are imitated with plain counters)."""
    versions: dict[str, int] = defaultdict(int)
    for position, env in enumerate(envelopes, start=1):
        stream = stream_of(env)
        versions[stream] += 1
        yield (
            position,
            uuid.UUID(env["event_id"]),
            stream,
            versions[stream],
            env["type"],
            1,
            orjson.dumps(env["data"]).decode(),
            "bench",
        )


def stream_of(env: dict[str, Any]) -> str:
    data = env["data"]
    for key, prefix in (
        ("project_id", "project"),
        ("user_id", "user"),
        ("company_id", "company"),
        ("role_id", "role"),
    ):
        if key in data and env["type"] != "HoursLogged":
            return f"{prefix}-{data[key]}"
    for key in ("task_id", "hour_id", "expense_id", "billing_record_id"):
        if key in data:  # the bench's ids start with their project's id
            return f"project-{str(data[key]).split('-')[0]}"
    return "project-unknown"
