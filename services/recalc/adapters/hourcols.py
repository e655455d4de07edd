"""Hour entries as columns, in and out of PostgreSQL (issue 9).

In: one binary `COPY` of integers, read by one `np.frombuffer`. Per entry it sends the
numbers that vary (date, hours and amounts scaled to integers in SQL, priced_at, kept,
`seq`) and two 64-bit hashes of the entry's "kind": project, task, owner, role, billing
record, both rates as written (value and scale) and sources, whether it counts as
revenue. A project has few kinds; one row of each is then read whole (by `seq`), and
every row takes its kind's ids and rates. Two kinds with one hash would show as one
hash with two second hashes: their project is refused (priced as objects).

Exactness: hours have had at most two places in (0, 24] since the first release
(`shared.events.types.Hours`), and amounts are written by pricing in cents, so the
integer casts are exact. A rate stored before today's upper limit may be too large for
int64 arithmetic: its kind refuses its project (`columns.rate_of`), and an amount too
large for a bigint refuses the whole load (a savepoint keeps the transaction).

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

from services.recalc.domain import columns
from services.recalc.domain.columns import NotColumnar, Priced, rate_of
from services.recalc.domain.hourtable import HourTable

#: the fields of a loaded row, in the COPY's order (every one int8, never NULL)
_IN = ("kind", "check", "seq", "day", "hours", "cost", "revenue", "priced_at", "kept")
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
_SOURCE = {s: i for i, s in enumerate(columns.SOURCES)}
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no extension
_TRAILER = b"\xff\xff"
#: an entry's kind (numeric equality ignores scale: 95 = 95.00, so the scales too)
_KIND = (
    "ROW(h.project_id, h.task_id, h.owner_id, h.role_id, h.billing_record_id,"
    " h.cost_rate, scale(h.cost_rate), h.cost_rate_source,"
    " h.billing_rate, scale(h.billing_rate), h.billing_rate_source, h.counts_as_revenue)"
)


def _row_dtype(names: Sequence[str]) -> np.dtype[Any]:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_len", ">i4"), (name, ">i8")]
    return np.dtype(fields)


_IN_ROW = _row_dtype(_IN)
_OUT_ROW = _row_dtype(_OUT)


class _Kind:
    """One kind of entry, from a row of it."""

    __slots__ = ("billing", "cost", "counts", "owner", "project", "record", "role", "task")

    def __init__(self, row: Any) -> None:
        self.project: str = row["project_id"]
        self.task: str | None = row["task_id"]
        self.owner: str = row["owner_id"]
        self.role: str | None = row["role_id"]
        self.record: str | None = row["billing_record_id"]
        self.cost = _rate(row["cost_rate"], row["cost_rate_source"])
        self.billing = _rate(row["billing_rate"], row["billing_rate_source"])
        self.counts: bool = row["counts_as_revenue"]


def _rate(value: Decimal | None, source: str | None) -> tuple[int, int, int]:
    """(scaled, places, source code) of a stored rate; (0, 0, 0) for none."""
    if value is None or source is None:
        return 0, 0, 0
    scaled, places = rate_of(value)
    return scaled, places, _SOURCE[source]


async def load_tables(
    conn: Any, hours: str, project_ids: Sequence[str], held: Mapping[str, Collection[str]]
) -> tuple[dict[str, HourTable], list[str]]:
    """The stored entries of `project_ids` (table `hours`) as one table each, and the
    projects refused (priced as objects instead: see the module's doc). `held`: by
    project, the entries the batch holds as objects (their `seq` is kept)."""
    wanted = list(project_ids)
    try:
        async with conn.transaction():  # a savepoint
            raw = await _copy_rows(conn, hours, wanted)
    except asyncpg.NumericValueOutOfRangeError:
        return {}, sorted(wanted)
    col = {name: raw[name].astype(np.int64) for name in _IN}
    # the kinds, the first row of each, and the kinds whose rows disagree on the
    # second hash (a collision of the first): one sort
    order = np.argsort(col["kind"], kind="stable")
    ordered = col["kind"][order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
    hashes, first = ordered[starts], order[starts]
    group = np.cumsum(np.r_[False, ordered[1:] != ordered[:-1]]) if len(order) else order
    disagree = col["check"][order] != col["check"][first][group]
    shared = set(ordered[disagree].tolist())
    kinds: dict[int, _Kind] = {}
    refused: set[str] = set()
    if len(first):
        rows = await conn.fetch(
            "SELECT seq, project_id, task_id, owner_id, role_id, billing_record_id,"
            " cost_rate, cost_rate_source, billing_rate, billing_rate_source,"
            f" counts_as_revenue FROM {hours}"
            " WHERE project_id = ANY($1::text[]) AND seq = ANY($2::int8[])",
            wanted,
            col["seq"][first].tolist(),
        )
        by_seq = {int(r["seq"]): r for r in rows}
        for hash_, index in zip(hashes.tolist(), first.tolist(), strict=True):
            row = by_seq[int(col["seq"][index])]
            try:
                if hash_ in shared:
                    raise NotColumnar("two kinds of entry share a hash")
                kinds[hash_] = _Kind(row)
            except NotColumnar:
                refused.add(row["project_id"])
    wanted = [p for p in wanted if p not in refused]
    seqs = await _held_seqs(conn, hours, wanted, held)
    return _split(wanted, hashes, kinds, col, seqs), sorted(refused)


async def _copy_rows(conn: Any, hours: str, wanted: list[str]) -> Any:
    fields = ", ".join(
        (
            f"hash_record_extended({_KIND}, 0)",
            f"hash_record_extended({_KIND}, 1)",
            "h.seq",
            "(h.entry_date - DATE '0001-01-01' + 1)::int8",  # `date.toordinal`
            f"(h.hours * {columns.HOURS_SCALE})::int8",
            "(h.cost * 100)::int8",
            "(h.revenue * 100)::int8",
            "h.priced_at",
            "h.kept::int::int8",
        )
    )
    chunks: list[bytes] = []

    async def take(chunk: bytes) -> None:
        chunks.append(bytes(chunk))  # a view of the driver's buffer, reused

    await conn.copy_from_query(
        f"SELECT {fields} FROM {hours} h WHERE h.project_id = ANY($1::text[])",
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
    hashes: Any,
    kinds: dict[int, _Kind],
    col: dict[str, Any],
    seqs: dict[str, dict[str, int]],
) -> dict[str, HourTable]:
    """One table per project (rows of refused projects are dropped)."""
    of = [kinds.get(h) for h in hashes.tolist()]
    kind = np.searchsorted(hashes, col["kind"])
    number = {p: i for i, p in enumerate(wanted)}
    project = np.array(
        [-1 if k is None else number.get(k.project, -1) for k in of] or [-1], dtype=np.int64
    )
    row_project = project[kind] if len(kind) else kind
    order = np.argsort(row_project, kind="stable")
    bounds = np.searchsorted(row_project[order], np.arange(len(wanted) + 1))
    out: dict[str, HourTable] = {}
    for i, project_id in enumerate(wanted):
        rows = order[bounds[i] : bounds[i + 1]]
        mine = [k for k in of if k is not None and k.project == project_id]
        task_ids = _names(k.task for k in mine)
        users = _names(k.owner for k in mine)
        roles = _names(k.role for k in mine if k.role is not None)
        records = _names(k.record for k in mine if k.record is not None)
        # per kind (-1s for another project's), then per row
        per_kind = np.array(
            [
                _codes(k, task_ids, users, roles, records)
                if k is not None and k.project == project_id
                else _NONE
                for k in of
            ]
            or [_NONE],
            dtype=np.int64,
        )
        at = per_kind[kind[rows]]
        out[project_id] = HourTable(
            seq=col["seq"][rows],
            task=at[:, 0],
            owner=at[:, 1],
            role=at[:, 2],
            record=at[:, 3],
            day=col["day"][rows],
            hours=col["hours"][rows],
            counts_as_revenue=at[:, 4] == 1,
            prices=Priced(
                cost_rate=at[:, 5],
                cost_places=at[:, 6],
                cost_source=at[:, 7].astype(np.int8),
                cost=col["cost"][rows],
                billing_rate=at[:, 8],
                billing_places=at[:, 9],
                billing_source=at[:, 10].astype(np.int8),
                revenue=col["revenue"][rows],
            ),
            kept=col["kept"][rows] == 1,
            priced_at=col["priced_at"][rows],
            task_ids=tuple(task_ids),
            users=tuple(users),
            roles=tuple(roles),
            records=tuple(records),
            seq_of=seqs.get(project_id, {}),
            written=np.zeros(len(rows), dtype=np.bool_),
        )
    return out


_NONE = (-1,) * 11


def _names(values: Any) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for v in values:
        out.setdefault(v, len(out))
    return out


def _codes(
    k: _Kind,
    task_ids: dict[Any, int],
    users: dict[Any, int],
    roles: dict[Any, int],
    records: dict[Any, int],
) -> tuple[int, ...]:
    return (
        task_ids[k.task],
        users[k.owner],
        -1 if k.role is None else roles[k.role],
        -1 if k.record is None else records[k.record],
        int(k.counts),
        *k.cost,
        *k.billing,
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
