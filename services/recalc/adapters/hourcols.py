"""Hour entries as columns, in and out of PostgreSQL (issue 9).

In: one binary `COPY` of integers, read by one `np.frombuffer`: per entry, its numbers
scaled to integers in SQL (hours and amounts x100, rates x10,000 with their written
scale, sources as codes) and, for each id (project, task, owner, role, billing record),
a 64-bit hash of it. One small statement lists the distinct ids with their hashes
(`GROUPING SETS`: one scan), so each table's dictionaries are built from the few
distinct hashes of its rows, never per entry in Python. Two ids of one column with
one hash refuse the load (priced as objects instead).

Exactness: hours have had at most two places in (0, 24] and rates at most four places
and no sign since the first release (`shared.events.types`), and amounts are written by
pricing in cents, so the integer casts are exact. A rate above `columns.MAX_RATE`
(stored before today's upper limit) refuses its project; a value too large for a
bigint refuses the whole load (a savepoint keeps the transaction).

Out: the rows a recalculation marked `written`, as one binary `COPY` into a temporary
table and one `UPDATE ... FROM` keyed by the row's `seq` (migration 0008), restricted
to the projects written so that PostgreSQL reads their rows by the project index.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np

from services.recalc.adapters.rows import PRICED_AT
from services.recalc.domain import columns
from services.recalc.domain.columns import NotColumnar, Priced, rate_of
from services.recalc.domain.hourtable import HourTable

_IDS = ("project_id", "task_id", "owner_id", "role_id", "billing_record_id")
#: the fields of a loaded row, in the COPY's order (every one int8, never NULL)
_IN = (*_IDS, "price", "seq", "day", "hours", "cost", "revenue", "priced_at", "kept")
#: the fields of a written row
_OUT = (
    "seq",
    "cost",
    "revenue",
    "cost_rate",
    "cost_places",
    "cost_source",
    "billing_rate",
    "billing_places",
    "billing_source",
    "priced_at",
    "kept",
)
_SOURCES = "ARRAY[" + ", ".join(f"'{s}'" for s in columns.SOURCES[1:]) + "]"
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no extension
_TRAILER = b"\xff\xff"


def _row_dtype(names: Sequence[str]) -> np.dtype[Any]:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_len", ">i4"), (name, ">i8")]
    return np.dtype(fields)


_IN_ROW = _row_dtype(_IN)
_OUT_ROW = _row_dtype(_OUT)


def _hash(column: str) -> str:
    """An id's hash; 0 for NULL (a real id hashing to 0 refuses the load)."""
    return f"coalesce(hashtextextended({column}, 0), 0)"


def _scaled(column: str, scale: int) -> str:
    return f"coalesce(({column} * {scale})::int8, 0)"


#: an entry's prices but amounts: few distinct ones (numeric equality ignores the
#: scale, 95 = 95.00, hence the scales)
_PRICE_COLUMNS = (
    "h.cost_rate, scale(h.cost_rate), h.cost_rate_source,"
    " h.billing_rate, scale(h.billing_rate), h.billing_rate_source, h.counts_as_revenue"
)
_PRICE = f"hash_record_extended(ROW({_PRICE_COLUMNS}), 0)"
_FIELDS = ", ".join(
    (
        *(_hash(f"h.{name}") for name in _IDS),
        _PRICE,
        "h.seq",
        "(h.entry_date - DATE '0001-01-01' + 1)::int8",  # `date.toordinal`
        _scaled("h.hours", columns.HOURS_SCALE),
        _scaled("h.cost", 100),
        _scaled("h.revenue", 100),
        PRICED_AT,  # as readers see it: a recalculation's position may be on the project
        "h.kept::int::int8",
    )
)
#: every distinct id of each id column and every distinct price, in one scan; a row
#: of the prices' set has GROUPING(h.counts_as_revenue) = 0
_DICTIONARY = (
    "SELECT GROUPING(h.counts_as_revenue) = 0 AS is_price,"
    " h.project_id, h.task_id, h.owner_id, h.role_id, h.billing_record_id,"
    + ", ".join(f" {_hash(f'h.{name}')} AS {name}_hash" for name in _IDS)
    + f", {_PRICE} AS price_hash,"
    " h.cost_rate, h.cost_rate_source, h.billing_rate, h.billing_rate_source,"
    " h.counts_as_revenue"
    " FROM {hours} h WHERE h.project_id = ANY($1::text[])"
    " GROUP BY GROUPING SETS ((h.project_id), (h.task_id), (h.owner_id), (h.role_id),"
    f" (h.billing_record_id), ({_PRICE_COLUMNS}))"
)
_SOURCE = {s: i for i, s in enumerate(columns.SOURCES)}
#: a price's columns in a table: cost rate, places, source, billing rate, places,
#: source, counts as revenue
Price = tuple[int, int, int, int, int, int, int]


class _Refused(Exception):
    pass


async def load_tables(
    conn: Any,
    hours: str,
    projects: str,
    project_ids: Sequence[str],
    held: Mapping[str, Collection[str]],
) -> tuple[dict[str, HourTable], list[str]]:
    """The stored entries of `project_ids` (table `hours`) as one table each, and the
    projects refused (priced as objects instead: see the module's doc). `held`: by
    project, the entries the batch holds as objects (their `seq` is kept)."""
    wanted = list(project_ids)
    try:
        async with conn.transaction():  # a savepoint
            raw = await _copy_rows(conn, hours, projects, wanted)
        names, prices = await _dictionary(conn, hours, wanted)
    except (asyncpg.NumericValueOutOfRangeError, _Refused):
        return {}, sorted(wanted)
    col = {name: raw[name].astype(np.int64) for name in _IN}
    # a rate the columns can't price without overflow (`columns.rate_of`) refuses its
    # projects
    bad = np.array([h for h, p in prices.items() if p is None], dtype=np.int64)
    too_large = np.isin(col["price"], bad)
    refused = {names["project_id"][h] for h in np.unique(col["project_id"][too_large]).tolist()}
    wanted = [p for p in wanted if p not in refused]
    seqs = await _held_seqs(conn, hours, wanted, held)
    return _split(wanted, names, prices, col, seqs), sorted(refused)


async def _copy_rows(conn: Any, hours: str, projects: str, wanted: list[str]) -> Any:
    chunks: list[bytes] = []

    async def take(chunk: bytes) -> None:
        chunks.append(bytes(chunk))  # a view of the driver's buffer, reused

    await conn.copy_from_query(
        f"SELECT {_FIELDS} FROM {hours} h LEFT JOIN {projects} p ON p.project_id = h.project_id"
        " WHERE h.project_id = ANY($1::text[])",
        wanted,
        output=take,
        format="binary",
    )
    data = b"".join(chunks)
    chunks.clear()
    body = len(data) - len(_HEADER) - len(_TRAILER)
    if data[:11] != _HEADER[:11] or body % _IN_ROW.itemsize:
        raise RuntimeError("unexpected COPY output for hour columns")
    return np.frombuffer(data, dtype=_IN_ROW, count=body // _IN_ROW.itemsize, offset=19)


async def _dictionary(
    conn: Any, hours: str, wanted: list[str]
) -> tuple[dict[str, dict[int, str]], dict[int, Price | None]]:
    """By id column, every distinct id of the projects' entries by its hash; and every
    distinct price by its hash (None: beyond what the columns can price)."""
    names: dict[str, dict[int, str]] = {name: {} for name in _IDS}
    prices: dict[int, Price | None] = {}
    for row in await conn.fetch(_DICTIONARY.format(hours=hours), wanted):
        if row["is_price"]:
            try:
                price = (
                    *_rate(row["cost_rate"], row["cost_rate_source"]),
                    *_rate(row["billing_rate"], row["billing_rate_source"]),
                    int(row["counts_as_revenue"]),
                )
            except NotColumnar:
                price = None
            if prices.setdefault(row["price_hash"], price) != price:
                raise _Refused("two prices share a hash")
            continue
        for name in _IDS:
            value = row[name]
            if value is not None:
                known = names[name].setdefault(row[f"{name}_hash"], value)
                if known != value or row[f"{name}_hash"] == 0:
                    raise _Refused(f"two {name}s share a hash")
    return names, prices


def _rate(value: Decimal | None, source: str | None) -> tuple[int, int, int]:
    """(scaled, places, source code) of a stored rate; (0, 0, 0) for none."""
    if value is None or source is None:
        return 0, 0, 0
    scaled, places = rate_of(value)
    return scaled, places, _SOURCE[source]


async def _held_seqs(
    conn: Any, hours: str, wanted: list[str], held: Mapping[str, Collection[str]]
) -> dict[str, dict[str, int]]:
    ids = sorted({h for p in wanted for h in held.get(p, ())})
    out: dict[str, dict[str, int]] = {p: {} for p in wanted}
    if ids:
        rows = await conn.fetch(
            f"SELECT project_id, hour_id, seq FROM {hours}"
            " WHERE project_id = ANY($1::text[]) AND hour_id = ANY($2::text[])",
            wanted,
            ids,
        )
        for row in rows:
            out[row["project_id"]][row["hour_id"]] = int(row["seq"])
    return out


def _split(
    wanted: list[str],
    names: dict[str, dict[int, str]],
    prices: dict[int, Price | None],
    col: dict[str, Any],
    seqs: dict[str, dict[str, int]],
) -> dict[str, HourTable]:
    """One table per project of `wanted` (rows of other projects are dropped)."""
    mine = {h: p for h, p in names["project_id"].items() if p in set(wanted)}
    keys = np.array(sorted(mine), dtype=np.int64)
    code = np.full(len(col["seq"]), len(keys), dtype=np.int64)
    if len(keys):
        at = np.minimum(np.searchsorted(keys, col["project_id"]), len(keys) - 1)
        code = np.where(keys[at] == col["project_id"], at, len(keys))
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(keys) + 1))
    # each row's price columns, from its price's index among the distinct ones
    known = {h: p for h, p in prices.items() if p is not None}
    price_keys = np.array(sorted(known), dtype=np.int64)
    price_rows = np.array([known[h] for h in price_keys.tolist()] or [(0,) * 7], dtype=np.int64)
    at_price = np.searchsorted(price_keys, col["price"]) if len(price_keys) else col["price"] * 0
    priced = price_rows[np.minimum(at_price, len(price_rows) - 1)]
    out: dict[str, HourTable] = {}
    for i, project_hash in enumerate(keys.tolist()):
        project_id = mine[project_hash]
        rows = order[bounds[i] : bounds[i + 1]]
        out[project_id] = _table(names, col, priced, rows, seqs.get(project_id, {}))
    none = np.zeros(0, dtype=np.int64)
    for project_id in wanted:  # (a project with no stored entry yet)
        if project_id not in out:
            out[project_id] = _table(names, col, priced, none, {})
    return out


def _codes(hashes: Any, names: dict[int, str]) -> tuple[tuple[str, ...], Any]:
    """The distinct ids among `hashes` and each row's index among them (-1: NULL)."""
    distinct, inverse = np.unique(hashes, return_inverse=True)
    found = [names.get(h) for h in distinct.tolist()]
    remap = np.full(len(found) + 1, -1, dtype=np.int64)
    present = [i for i, name in enumerate(found) if name is not None]
    remap[present] = np.arange(len(present))
    ids = tuple(name for name in found if name is not None)
    return ids, remap[inverse.reshape(-1)]


def _table(
    names: dict[str, dict[int, str]],
    col: dict[str, Any],
    priced: Any,
    rows: Any,
    seq_of: dict[str, int],
) -> HourTable:
    price = priced[rows]
    tasks, task = _codes(col["task_id"][rows], names["task_id"])
    users, owner = _codes(col["owner_id"][rows], names["owner_id"])
    roles, role = _codes(col["role_id"][rows], names["role_id"])
    records, record = _codes(col["billing_record_id"][rows], names["billing_record_id"])
    # hours on the project itself: task None, one more dictionary entry
    task_ids: tuple[str | None, ...] = tasks
    if (task < 0).any():
        task_ids = (*tasks, None)
        task = np.where(task < 0, len(tasks), task)
    return HourTable(
        seq=col["seq"][rows],
        task=task,
        owner=owner,
        role=role,
        record=record,
        day=col["day"][rows],
        hours=col["hours"][rows],
        counts_as_revenue=price[:, 6] == 1,
        prices=Priced(
            cost_rate=price[:, 0].copy(),
            cost_places=price[:, 1].copy(),
            cost_source=price[:, 2].astype(np.int8),
            cost=col["cost"][rows],
            billing_rate=price[:, 3].copy(),
            billing_places=price[:, 4].copy(),
            billing_source=price[:, 5].astype(np.int8),
            revenue=col["revenue"][rows],
        ),
        kept=col["kept"][rows] == 1,
        priced_at=col["priced_at"][rows],
        task_ids=task_ids,
        users=users,
        roles=roles,
        records=records,
        seq_of=seq_of,
        written=np.zeros(len(rows), dtype=np.bool_),
    )


async def write_tables(conn: Any, hours: str, tables: Mapping[str, HourTable]) -> int:
    """Write every row a recalculation marked in its table; returns how many."""
    written = {p: t for p, t in tables.items() if t.written.any()}
    if not written:
        return 0
    parts = [(t, np.flatnonzero(t.written)) for t in written.values()]
    n = sum(len(rows) for _, rows in parts)
    out = np.zeros(n, dtype=_OUT_ROW)
    out["count"] = len(_OUT)
    at = 0
    for table, rows in parts:
        p = table.prices
        values: dict[str, Any] = {
            "seq": table.seq,
            "cost": p.cost,
            "revenue": p.revenue,
            "cost_rate": p.cost_rate,
            "cost_places": p.cost_places,
            "cost_source": p.cost_source,
            "billing_rate": p.billing_rate,
            "billing_places": p.billing_places,
            "billing_source": p.billing_source,
            "priced_at": table.priced_at,
            "kept": table.kept,
        }
        for name in _OUT:
            out[f"{name}_len"][at : at + len(rows)] = 8
            out[name][at : at + len(rows)] = values[name][rows]
        at += len(rows)
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS tally_hour_prices ("
        + ", ".join(f"{name} int8 NOT NULL" for name in _OUT)
        + ") ON COMMIT DELETE ROWS"
    )
    await conn.copy_to_table(
        "tally_hour_prices", source=io.BytesIO(_HEADER + out.tobytes() + _TRAILER), format="binary"
    )
    await conn.execute(
        f"UPDATE {hours} h SET cost = u.cost * 0.01, revenue = u.revenue * 0.01,"
        " cost_rate = CASE WHEN u.cost_source = 0 THEN NULL"
        " ELSE round(u.cost_rate * 0.0001, u.cost_places::int) END,"
        " billing_rate = CASE WHEN u.billing_source = 0 THEN NULL"
        " ELSE round(u.billing_rate * 0.0001, u.billing_places::int) END,"
        f" cost_rate_source = ({_SOURCES})[u.cost_source],"
        f" billing_rate_source = ({_SOURCES})[u.billing_source],"
        " priced_at = u.priced_at, kept = u.kept = 1"
        " FROM tally_hour_prices u WHERE h.project_id = ANY($1::text[]) AND h.seq = u.seq",
        sorted(written),
    )
    return n
