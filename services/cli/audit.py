"""`tally audit PROJECT [--as-of N]`: a project's finances and priced hour entries as
they stood right after log position N (default: the head), replayed from the log
with the same code and the same formatting as the `as_of` reads.

Formats: `table` (readable), `json` (`{"finances", "tasks", "hours"}`), `csv` (the
finances as `field,value` rows, a blank line, then one row per hour entry).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from typing import Any

import orjson

from services.recalc.service_layer.isolation import CannotPrice
from shared.infra.settings import Settings

HOUR_COLUMNS = (
    "hour_id",
    "task_id",
    "owner_id",
    "entry_date",
    "hours",
    "cost_rate",
    "cost_rate_source",
    "cost",
    "billing_rate",
    "billing_rate_source",
    "revenue",
    "priced_at",
    "locked_by",
)


def configure_main(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project_id")
    parser.add_argument("--as-of", type=int, default=None, help="log position (default: head)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--output", default=None, help="write to this file instead of stdout")


def main(args: argparse.Namespace) -> int:
    try:
        audit = asyncio.run(load(Settings().require_database_url(), args.project_id, args.as_of))
    except LookupError as exc:
        print(f"tally audit: {exc.args[0]}", file=sys.stderr)
        return 1
    except CannotPrice as exc:  # the worker parks such a project (tally status)
        print(f"tally audit: {exc}", file=sys.stderr)
        return 2
    text = render(audit, args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


async def load(database_url: str, project_id: str, as_of: int | None) -> dict[str, Any]:
    """{"finances", "tasks", "hours"} bodies as of the position; LookupError if none."""
    import asyncpg

    from services.recalc.entrypoints.bodies import finances_body, hours_body, tasks_body
    from services.recalc.service_layer import asof
    from shared.infra import eventlog
    from shared.infra.db import plain_dsn

    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        head = await eventlog.head(conn)
        position = head if as_of is None else as_of
        if position > head:
            raise LookupError(f"the log ends at position {head}, before {position}")
        book = await asof.book_as_of(conn, project_id, position)
    finally:
        await conn.close()
    if project_id not in book.projects:
        raise LookupError(f"no project {project_id!r} as of position {position}")
    project = asof.project_row(book, project_id, position)
    return {
        "finances": finances_body(project, position),
        "tasks": tasks_body(project, asof.task_rows(book, project_id))["tasks"],
        "hours": hours_body(project, asof.hour_rows(book, project_id))["hours"],
    }


def render(audit: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(audit, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["field", "value"])
        writer.writerows(audit["finances"].items())
        writer.writerow([])
        writer.writerow(HOUR_COLUMNS)
        writer.writerows([_cell(h[c]) for c in HOUR_COLUMNS] for h in audit["hours"])
        return buffer.getvalue()
    return _table(audit)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _grid(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def _table(audit: dict[str, Any]) -> str:
    finances = audit["finances"]
    lines = [f"Project {finances['project_id']} as of position {finances['as_of']}", ""]
    width = max(len(k) for k in finances)
    lines += [
        f"  {k.ljust(width)}  {v}"
        for k, v in finances.items()
        if k not in ("project_id", "position", "as_of")
    ]
    lines += ["", f"Tasks ({len(audit['tasks'])})"]
    task_cols = (
        "task_id",
        "status",
        "planned_hours",
        "actual_hours",
        "planned_cost",
        "planned_revenue",
        "actual_cost",
        "actual_revenue",
    )
    lines += _grid(task_cols, [[_cell(t[c]) for c in task_cols] for t in audit["tasks"]])
    lines += ["", f"Priced hour entries ({len(audit['hours'])})"]
    lines += _grid(HOUR_COLUMNS, [[_cell(h[c]) for c in HOUR_COLUMNS] for h in audit["hours"]])
    return "\n".join(lines) + "\n"
