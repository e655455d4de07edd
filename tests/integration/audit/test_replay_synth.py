"""A synthetic log for `tally replay`: reference data, projects with tasks, hour entries,
manual recalculations and task moves, appended with COPY (positions gap-free, `log_head`
moved to the last one). Used by the replay tests (small) and to measure (large):

    .venv/bin/python tests/integration/audit/test_replay_synth.py postgresql://…/db 1000 200000
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson

START = datetime(2023, 6, 19, 12, tzinfo=UTC)


@dataclass
class Log:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    first: int = 1

    def add(self, stream: str, type_: str, data: dict[str, Any], schema: int = 1) -> None:
        version = self.versions[stream] = self.versions.get(stream, 0) + 1
        position = self.first + len(self.rows)
        self.rows.append(
            (
                position,
                uuid.uuid4(),
                stream,
                version,
                type_,
                schema,
                orjson.dumps(data).decode(),
                START + timedelta(seconds=position),
                "synth",
            )
        )


def build(
    projects: int, hours: int, *, seed: int = 7, tasks: int = 20, moves: float = 0.0005
) -> Log:
    """Events in position order: the reference data first, then every project and its
    tasks, then hours interleaved with recalculations (1 per ~33 hours), rate changes
    and task moves (`moves` per hour, between neighbouring projects)."""
    rnd = random.Random(seed)
    log = Log()
    roles = [f"r{i}" for i in range(10)]
    users = [f"u{i}" for i in range(50)]
    for role in roles:
        log.add(f"role-{role}", "JobRoleDefined", {"role_id": role, "name": role})
        for rate_type, value in (("cost", 40), ("billing", 90)):
            log.add(
                f"role-{role}",
                "RatesSet",
                {
                    "level": "role",
                    "rate_type": rate_type,
                    "role_id": role,
                    "periods": [{"value": str(value + rnd.randint(0, 30))}],
                },
            )
    log.add("company-c1", "CompanyDefined", {"company_id": "c1", "name": "C"})
    for user in users:
        log.add(
            f"user-{user}",
            "UserDefined",
            {"user_id": user, "name": user, "primary_role_id": rnd.choice(roles)},
        )
        if rnd.random() < 0.5:
            log.add(
                f"user-{user}",
                "RatesSet",
                {
                    "level": "user",
                    "rate_type": "cost",
                    "user_id": user,
                    "periods": [{"value": f"{rnd.randint(30, 60)}.5"}],
                },
            )
    task_ids: dict[str, list[str]] = {}
    for p in range(projects):
        pid = f"p{p}"
        created: dict[str, Any] = {"project_id": pid, "name": f"P {p}", "status": "current"}
        if p % 3 == 0:
            created["company_id"] = "c1"
        log.add(f"project-{pid}", "ProjectCreated", created)
        task_ids[pid] = []
        for t in range(tasks):
            tid = f"{pid}t{t}"
            task_ids[pid].append(tid)
            log.add(
                f"project-{pid}",
                "TaskCreated",
                {
                    "task_id": tid,
                    "project_id": pid,
                    "name": tid,
                    "planned_hours": str(rnd.randint(0, 80)),
                    "planned_start": "2023-06-01",
                    "planned_completion": "2023-06-30",
                    "cost_type": rnd.choice(["user_hourly", "role_hourly"]),
                    "revenue_type": rnd.choice(["user_hourly", "role_hourly_cap"]),
                    "revenue_amount": "5000",
                    "assignments": [{"user_id": rnd.choice(users), "role_id": rnd.choice(roles)}],
                },
            )
    for h in range(hours):
        pid = f"p{rnd.randrange(projects)}"
        if not task_ids[pid]:
            continue
        log.add(
            f"project-{pid}",
            "HoursLogged",
            {
                "hour_id": f"h{h}",
                "owner_id": rnd.choice(users),
                "task_id": rnd.choice(task_ids[pid]),
                "entry_date": (date(2023, 6, 1) + timedelta(days=rnd.randrange(30))).isoformat(),
                "hours": f"{rnd.randint(1, 8)}.{rnd.choice(['0', '25', '5'])}",
                "role_id": rnd.choice(roles) if rnd.random() < 0.3 else None,
            },
        )
        if rnd.random() < 0.03:
            target = f"p{rnd.randrange(projects)}"
            log.add(
                f"project-{target}",
                "FinancesRecalculationRequested",
                {"project_ids": [target], "scope": "all"},
            )
        if rnd.random() < 0.0005:
            role = rnd.choice(roles)
            log.add(
                f"role-{role}",
                "RatesSet",
                {
                    "level": "role",
                    "rate_type": "billing",
                    "role_id": role,
                    "periods": [{"value": str(rnd.randint(80, 150))}],
                },
            )
        if rnd.random() < moves and projects > 1:
            target = f"p{(int(pid[1:]) + 1) % projects}"
            if task_ids[pid]:
                tid = task_ids[pid].pop(rnd.randrange(len(task_ids[pid])))
                task_ids[target].append(tid)
                log.add(f"project-{pid}", "TaskMoved", {"task_id": tid, "to_project_id": target})
    return log


async def append(conn: asyncpg.Connection, log: Log) -> int:
    """COPY the log after the current head (whose streams must be new); the new head."""
    async with conn.transaction():
        head = int(await conn.fetchval("SELECT position FROM log_head FOR UPDATE"))
        shift = head + 1 - log.first
        rows = [(r[0] + shift, *r[1:]) for r in log.rows] if shift else log.rows
        await conn.copy_records_to_table(
            "events",
            records=rows,
            columns=[
                "position",
                "event_id",
                "stream",
                "version",
                "type",
                "schema_version",
                "data",
                "recorded_at",
                "actor",
            ],
        )
        new_head = head + len(rows)
        await conn.execute("UPDATE log_head SET position = $1", new_head)
    return new_head


async def _main(url: str, projects: int, hours: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        log = build(projects, hours)
        print(f"appending {len(log.rows)} events")
        print(f"head {await append(conn, log)}")
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
