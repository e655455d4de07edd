"""Bulk writes of whole projects into a fresh projection schema with COPY.

`tally replay` fills `projection_next` from empty, so there is nothing to upsert or
delete: every row goes in once, from the same column descriptions as the worker's
writes (`adapters.projection_rows`). Hours and expenses go in COPY's text format
(`copy_text`, in pieces of `CHUNK` rows): asyncpg's binary encoding of a `Decimal`
cost about 0.8 µs, most of a replay's write of hour rows (five amounts each). The
other tables, and any rows whose text would need escaping, go through
`copy_records_to_table` (binary COPY).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any

from services.recalc.adapters.projection_rows import (
    EXPENSE,
    HOUR,
    OWN_SUMS,
    PROJECT,
    RECORD,
    RECORD_VIEW,
    TASK,
    TASK_SUMS,
    TASK_VIEW,
    TOTAL_COLUMNS,
    TOTAL_FIELDS,
    Column,
    sums_of,
)
from services.recalc.domain.finance_book import FinanceBook

Getter = Callable[[Any], Any]


def _getters(columns: Sequence[Column]) -> tuple[list[str], list[Getter]]:
    return [c.name for c in columns], [c.get for c in columns]


def _row_getter(columns: Sequence[Column]) -> Callable[[Any], tuple[Any, ...]]:
    """A whole record in one C call (`attrgetter`) when every column reads the
    attribute of its own name (`rows._attr`), else the columns' getters one by one."""
    if len(columns) > 1 and all(_reads_own_name(c) for c in columns):
        return attrgetter(*(c.name for c in columns))
    getters = [c.get for c in columns]
    return lambda line: tuple([get(line) for get in getters])


def _reads_own_name(column: Column) -> bool:
    try:
        return bool(column.get(_Probe()) == column.name)
    except Exception:  # a computed column: it did more than read one attribute
        return False


class _Probe:
    """An object whose every attribute is its own name: `get(_Probe()) == name` holds
    for a column that reads the attribute of its name, and for no other."""

    def __getattr__(self, name: str) -> str:
        return name


_PROJECT_NAMES, _PROJECT_GET = _getters(PROJECT)
_TASK_NAMES, _TASK_GET = _getters(TASK)
_VIEW_NAMES, _VIEW_GET = _getters(TASK_VIEW)
_SUMS_NAMES, _SUMS_GET = _getters(TASK_SUMS)
_OWN_NAMES, _OWN_GET = _getters(OWN_SUMS)
_HOUR_NAMES, _HOUR_ROW = [c.name for c in HOUR], _row_getter(HOUR)
_EXPENSE_NAMES, _EXPENSE_ROW = [c.name for c in EXPENSE], _row_getter(EXPENSE)
_RECORD_NAMES, _RECORD_GET = _getters(RECORD)
_RVIEW_NAMES, _RVIEW_GET = _getters(RECORD_VIEW)

#: The PostgreSQL type of each column of the tables written in text (`copy_text`).
TEXT_KINDS = {
    "hours": [c.pg_type for c in HOUR],
    "expenses": [c.pg_type for c in EXPENSE],
}

COLUMNS = {
    "projects": [*_PROJECT_NAMES, "applied_position", *TOTAL_COLUMNS, *_OWN_NAMES],
    "tasks": _TASK_NAMES + _VIEW_NAMES + _SUMS_NAMES,
    "hours": _HOUR_NAMES,
    "expenses": _EXPENSE_NAMES,
    # text[] columns as lists (COPY), not the JSON text the upserts' unnest reads
    "billing_records": [*_RECORD_NAMES, "hour_ids", "expense_ids", "task_ids", *_RVIEW_NAMES],
}


def project_records(
    book: FinanceBook, project_ids: Iterable[str], position: int
) -> dict[str, list[tuple[Any, ...]]]:
    """COPY records of every table for the whole state of `project_ids`."""
    out: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    projects, tasks, hours = out["projects"], out["tasks"], out["hours"]
    expenses, records = out["expenses"], out["billing_records"]
    for project_id in project_ids:
        state = book.projects.get(project_id)
        if state is None:
            continue
        state.take_changes()  # everything is written: nothing is pending any more
        totals = book.totals(project_id)
        own = sums_of(state.task_actuals(None))
        projects.append(
            (
                *(get(state.info) for get in _PROJECT_GET),
                position,
                *(getattr(totals, f) for f in TOTAL_FIELDS),
                *(get(own) for get in _OWN_GET),
            )
        )
        for task_id, task in state.tasks.items():
            view = book.task_view(project_id, task_id)
            sums = sums_of(state.task_actuals(task_id))
            tasks.append(
                (
                    *(get(task) for get in _TASK_GET),
                    *(get(view) for get in _VIEW_GET),
                    *(get(sums) for get in _SUMS_GET),
                )
            )
        hours.extend(map(_HOUR_ROW, state.hours.values()))
        expenses.extend(map(_EXPENSE_ROW, state.expenses.values()))
        for record_id, record in state.records.items():
            rview = book.record_view(record_id)
            records.append(
                (
                    *(get(record) for get in _RECORD_GET),
                    list(record.hour_ids),
                    list(record.expense_ids),
                    list(record.task_ids),
                    *(get(rview) for get in _RVIEW_GET),
                )
            )
    return out


NULL = "\\N"  # COPY's text form of NULL
_BOOLEANS = {True: "t", False: "f", None: NULL}


class _Dates(dict[date | None, str]):
    """ISO text of dates, each formatted once (a project's entries share few dates)."""

    def __missing__(self, day: date | None) -> str:
        text = self[day] = NULL if day is None else day.isoformat()
        return text


def _plain(texts: Sequence[str | None]) -> bool:
    """No value needs escaping in COPY's text format (every id the ledger accepts)."""
    joined = "".join(filter(None, texts))
    return not ("\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined)


def _column_text(kind: str, values: Sequence[Any]) -> Sequence[str] | None:
    """One column's values as COPY text; None when a text value needs escaping."""
    if kind == "text":
        return [NULL if v is None else v for v in values] if _plain(values) else None
    if kind == "date":
        return list(map(_Dates().__getitem__, values))
    if kind == "boolean":
        return list(map(_BOOLEANS.__getitem__, values))
    if kind in ("numeric", "bigint"):  # str(Decimal) is numeric's input form, exponent too
        return [NULL if v is None else str(v) for v in values]
    raise ValueError(f"no text form for {kind}")


def copy_text(rows: Sequence[tuple[Any, ...]], kinds: Sequence[str]) -> bytes | None:
    """`rows` (of columns of PostgreSQL types `kinds`) in COPY's text format, one line
    a row; None when a text value holds a backslash, tab, newline or carriage return
    (then write them in binary). Built a column at a time: every loop but the None
    tests runs in C."""
    if not rows:
        return b""
    texts = []
    for kind, values in zip(kinds, zip(*rows, strict=True), strict=True):
        text = _column_text(kind, values)
        if text is None:
            return None
        texts.append(text)
    return ("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n").encode()


#: Rows a piece of text COPY: the text of a whole shard's hours (str of every amount,
#: a line per row) held at once grew with the log; a piece is sent while the next is built.
CHUNK = 20_000


def plain_text(rows: Sequence[tuple[Any, ...]], kinds: Sequence[str]) -> bool:
    """No text column of `rows` holds a value that COPY's text format would escape."""
    return all(
        _plain(list(map(itemgetter(i), rows))) for i, kind in enumerate(kinds) if kind == "text"
    )


async def _pieces(rows: Sequence[tuple[Any, ...]], kinds: Sequence[str]) -> AsyncIterator[bytes]:
    for start in range(0, len(rows), CHUNK):
        text = copy_text(rows[start : start + CHUNK], kinds)
        if text is None:  # plain_text was asked first
            raise ValueError("a text value needs an escape")
        yield text


async def copy_projects(
    conn: Any, schema: str, book: FinanceBook, project_ids: Iterable[str], position: int
) -> int:
    """COPY the whole state of `project_ids` into `schema` (whose tables hold none of
    their rows); the number of rows written."""
    written = 0
    for table, rows in project_records(book, project_ids, position).items():
        if not rows:
            continue
        kinds = TEXT_KINDS.get(table)
        if kinds is not None and plain_text(rows, kinds):
            await conn.copy_to_table(
                table, schema_name=schema, columns=COLUMNS[table], source=_pieces(rows, kinds)
            )
        else:
            await conn.copy_records_to_table(
                table, schema_name=schema, columns=COLUMNS[table], records=rows
            )
        written += len(rows)
    return written
