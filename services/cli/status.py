"""`tally status`: where the log, the relays and the projection stand, and which
projects the recalc worker parked because it cannot price them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from shared.infra.settings import Settings


def configure_main(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table")


def main(args: argparse.Namespace) -> int:
    status = asyncio.run(load(Settings().require_database_url()))
    if args.format == "json":
        print(json.dumps(status, indent=2))
    else:
        sys.stdout.write(render(status))
    # non-zero when a project is parked: scripts and probes can alert on it
    return 1 if status["unpriceable"] else 0


async def load(database_url: str) -> dict[str, Any]:
    import asyncpg

    from services.recalc.adapters.unpriceable import parked
    from shared.infra import eventlog
    from shared.infra.db import plain_dsn

    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        head = await eventlog.head(conn)
        relays = {
            r["name"]: int(r["position"])
            for r in await conn.fetch("SELECT name, position FROM relay_offsets ORDER BY name")
        }
        finance_head = await conn.fetchval("SELECT seq FROM finance_head")
        behind = await conn.fetchrow(
            "SELECT count(*) AS n, min(applied_position) AS oldest FROM projection.projects"
            " WHERE applied_position < $1",
            head,
        )
        stuck = [p.as_json() for p in await parked(conn)]
    finally:
        await conn.close()
    return {
        "log_head": head,
        "finance_outbox_head": int(finance_head or 0),
        "relays": relays,
        "projects_not_at_head": int(behind["n"]),
        "oldest_applied_position": None if behind["oldest"] is None else int(behind["oldest"]),
        "unpriceable": stuck,
    }


def render(status: dict[str, Any]) -> str:
    lines = [
        f"log head                 {status['log_head']}",
        f"finance outbox head      {status['finance_outbox_head']}",
    ]
    for name, position in status["relays"].items():
        lines.append(f"relay {name:<18} {position}")
    lines.append(
        f"projects not at head     {status['projects_not_at_head']}"
        " (a project without news since is not behind)"
    )
    stuck = status["unpriceable"]
    lines.append(f"unpriceable projects     {len(stuck)}")
    for p in stuck:
        lines.append(
            f"  {p['project_id']}: priced up to {p['applied_position']}, fails at"
            f" {p['position']} ({p['attempts']} attempt(s) since {p['first_failed_at']}):"
            f" {p['error']}"
        )
    return "\n".join(lines) + "\n"
