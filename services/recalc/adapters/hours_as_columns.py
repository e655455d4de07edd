"""Hour entries as columns, in and out of PostgreSQL (issue 9).

In: one binary `COPY` of int8 columns, read by one `np.frombuffer`. Each hour row
carries its columnar form as generated columns (migration 0009), so the load sends
stored integers and computes nothing per row: a 64-bit hash of each id
(`hashtextextended`), amounts in cents, rates in 1/10,000ths, and one `packed`
integer (date, hours, rate scales and sources, two flags; layout in 0009). A binary
COPY costs about the same per value whatever the value, hence the packing. (Tried
and measured: the same values as one `bytea` per project, `string_agg` of
`int8send`s: 9.8 ms against 12.6 for 16 cached bulk projects, but no gain in the
bench's bulk, 184.6k against 187.8k entries/s, and 278 against 243 ms for the first
load of the 100,000-entry project: not kept.)

Ids come back from their hashes through `IdKeys`, which the worker keeps across
transactions: what it does not know yet it learns from the projects' tasks and
billing records and from the candidates the caller names (the users and roles of the
reference data), all hashed by the server in one statement, then, for what is still
unknown, from the projects' hour rows (a `DISTINCT` over them: 80 ms for the bench's
100,000-entry project, which the candidates spare a freshly started worker). Two
ids with one hash refuse a load (priced as objects instead). A hash is 64 bits: a
load can only be wrong if an id first seen in it shares its hash with one already
learnt, about n^2 / 2^65 for n distinct ids (below 1e-7 for a million).

Exactness: the generated columns are exact or mark the row (NULL amounts, rate -1,
NULL `packed`); such a row, a rate above `columns.MAX_RATE` (stored before today's
upper limit) or an unknown rate source refuses its project.

Out: the rows a recalculation marked `written`, as one binary `COPY` into a temporary
table and one `UPDATE ... FROM` keyed by the row's `seq` (migration 0008), restricted
to the projects written so that PostgreSQL reads their rows by the project index.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from services.recalc.domain import columns
from services.recalc.domain.columns import Priced
from services.recalc.domain.hour_table import HourTable

#: hash column -> id column of each id an hour row names
_KEYS = {
    "project_key": "project_id",
    "task_key": "task_id",
    "owner_key": "owner_id",
    "role_key": "role_id",
    "record_key": "billing_record_id",
}
#: what a NULL generated value is sent as (an amount can't be this: see 0009)
_NULL = int(np.iinfo(np.int64).min)
#: the fields of a loaded row, in the COPY's order (every one int8, never NULL)
_IN = (
    *_KEYS,
    "seq",
    "packed",
    "cost_x",
    "revenue_x",
    "cost_rate_x",
    "billing_rate_x",
    "priced_at",
)
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
#: `packed` (migration 0009): field -> (lowest bit, width)
_PACKED = {
    "day": (0, 22),
    "hours": (22, 12),
    "cost_places": (34, 5),
    "cost_source": (39, 3),
    "billing_places": (42, 5),
    "billing_source": (47, 3),
    "counts_as_revenue": (50, 1),
    "kept": (51, 1),
}


def _row_dtype(names: Sequence[str]) -> np.dtype[Any]:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_len", ">i4"), (name, ">i8")]
    return np.dtype(fields)


_IN_ROW = _row_dtype(_IN)
_OUT_ROW = _row_dtype(_OUT)
_SELECT = ", ".join(
    [f"coalesce(h.{key}, 0)" for key in _KEYS]
    + ["h.seq"]
    + [f"coalesce(h.{name}, {_NULL})" for name in ("packed", "cost_x", "revenue_x")]
    + ["h.cost_rate_x", "h.billing_rate_x", "h.priced_at"]
)


class IdKeys:
    """Ids by the hash their hour rows store (`*_key`), learnt from the database and
    kept across transactions (at most `limit`; then forgotten and learnt again)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit = limit
        self.names: dict[int, str] = {}
        self.keys: dict[str, int] = {}
        self.shared: set[int] = set()  # hashes of two ids: a load naming one is refused

    def learn(self, pairs: Iterable[tuple[int, str]]) -> None:
        if len(self.names) > self.limit:
            self.names.clear()
            self.keys.clear()
        for key, name in pairs:
            self.keys[name] = key
            if self.names.setdefault(key, name) != name or key == 0:
                self.shared.add(key)

    def unknown(self, keys: Iterable[int]) -> list[int]:
        return [k for k in keys if k and k not in self.names]


async def load_tables(
    conn: Any,
    table: Callable[[str], str],
    project_ids: Sequence[str],
    held: Mapping[str, Collection[str]],
    ids: IdKeys,
    candidates: Collection[str] = (),
) -> tuple[dict[str, HourTable], list[str]]:
    """The stored entries of `project_ids` as one table each, and the projects refused
    (priced as objects instead: see the module's doc). `table` names a projection
    table; `held`: by project, the entries the batch holds as objects (their `seq` is
    kept)."""
    wanted = list(project_ids)
    hours = table("hours")
    raw = await _copy_rows(conn, hours, wanted)
    col = {name: raw[name].astype(np.int64) for name in _IN}
    distinct = {key: np.unique(col[key]) for key in _KEYS}
    await _learn(conn, table, wanted, distinct, ids, candidates)
    by_hash: dict[int, str] = {}
    refused: set[str] = set()
    for project_id in wanted:
        key = ids.keys.get(project_id)
        if key is None or key in ids.shared:
            refused.add(project_id)  # (its rows are refused below too)
        else:
            by_hash[key] = project_id
    refused |= _refused_projects(col, distinct, ids, by_hash)
    wanted = [p for p in wanted if p not in refused]
    seqs = await _held_seqs(conn, hours, wanted, held)
    floors = await _priced_floors(conn, table("projects"), wanted)
    return _split(wanted, by_hash, ids, col, seqs, floors), sorted(refused)


async def _copy_rows(conn: Any, hours: str, wanted: list[str]) -> Any:
    chunks: list[bytes] = []

    async def take(chunk: bytes) -> None:
        chunks.append(bytes(chunk))  # a view of the driver's buffer, reused

    await conn.copy_from_query(
        f"SELECT {_SELECT} FROM {hours} h WHERE h.project_id = ANY($1::text[])",
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


async def _learn(
    conn: Any,
    table: Callable[[str], str],
    wanted: list[str],
    distinct: Mapping[str, Any],
    ids: IdKeys,
    candidates: Collection[str],
) -> None:
    """Learn the projects' own ids, and the ids behind every hash of `distinct` that
    `ids` does not know yet."""
    missing = {key: ids.unknown(values.tolist()) for key, values in distinct.items()}
    own = [p for p in wanted if p not in ids.keys]
    if any(missing.values()) or own:
        # The projects' own ids, their tasks and billing records (few rows), and the
        # candidates not learnt yet.
        new = [c for c in candidates if c not in ids.keys]
        rows = await conn.fetch(
            "SELECT hashtextextended(k, 0) AS key, k FROM ("
            "SELECT k FROM unnest($1::text[]) AS k"
            " UNION SELECT k FROM unnest($2::text[]) AS k"
            f" UNION SELECT task_id FROM {table('tasks')} WHERE project_id = ANY($1)"
            " UNION SELECT billing_record_id"
            f" FROM {table('billing_records')} WHERE project_id = ANY($1)"
            ") AS known(k) WHERE k IS NOT NULL",
            wanted,
            new,
        )
        ids.learn((int(r["key"]), str(r["k"])) for r in rows)
        missing = {key: ids.unknown(values.tolist()) for key, values in distinct.items()}
    if not any(missing.values()):
        return
    # Still unknown (a user or role met for the first time): from the hour rows.
    asked = [(key, column) for key, column in _KEYS.items() if missing[key]]
    rows = await conn.fetch(
        " UNION ALL ".join(
            f"SELECT DISTINCT {key} AS key, {column} AS name FROM {table('hours')}"
            f" WHERE project_id = ANY($1::text[]) AND {key} = ANY(${i}::int8[])"
            for i, (key, column) in enumerate(asked, start=2)
        ),
        wanted,
        *[missing[key] for key, _ in asked],
    )
    ids.learn((int(r["key"]), str(r["name"])) for r in rows)


def _refused_projects(
    col: Mapping[str, Any], distinct: Mapping[str, Any], ids: IdKeys, by_hash: Mapping[int, str]
) -> set[str]:
    """Projects with a row the columns can't hold exactly, or naming an unknown or
    shared hash (see the module's doc)."""
    bad = (
        (col["packed"] == _NULL)
        | (col["cost_x"] == _NULL)
        | (col["revenue_x"] == _NULL)
        | (col["cost_rate_x"] < 0)
        | (col["billing_rate_x"] < 0)
        | (col["cost_rate_x"] > columns.MAX_RATE)
        | (col["billing_rate_x"] > columns.MAX_RATE)
    )
    packed = col["packed"]
    for field in ("cost_source", "billing_source"):
        bad |= _bits(packed, field) >= len(columns.SOURCES)
    for key in _KEYS:
        doubtful = [
            k for k in distinct[key].tolist() if k and (k in ids.shared or k not in ids.names)
        ]
        if doubtful:
            bad |= np.isin(col[key], np.array(doubtful, dtype=np.int64))
    return {by_hash.get(h, "") for h in np.unique(col["project_key"][bad]).tolist()} - {""}


def _bits(packed: Any, field: str) -> Any:
    low, width = _PACKED[field]
    return (packed >> low) & ((1 << width) - 1)


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


async def _priced_floors(conn: Any, projects: str, wanted: list[str]) -> dict[str, int]:
    """By project, the position of its last recalculation, where one is on the project
    row (`rows.PRICED_AT`: an entry not kept reads the later of its own and that)."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"SELECT project_id, hours_priced_at FROM {projects}"
        " WHERE project_id = ANY($1::text[]) AND hours_priced_at IS NOT NULL",
        wanted,
    )
    return {str(r["project_id"]): int(r["hours_priced_at"]) for r in rows}


def _split(
    wanted: list[str],
    by_hash: Mapping[int, str],
    ids: IdKeys,
    col: dict[str, Any],
    seqs: dict[str, dict[str, int]],
    floors: Mapping[str, int],
) -> dict[str, HourTable]:
    """One table per project of `wanted` (rows of other projects are dropped)."""
    mine = {h: p for h, p in by_hash.items() if p in set(wanted)}
    keys = np.array(sorted(mine), dtype=np.int64)
    code = np.full(len(col["seq"]), len(keys), dtype=np.int64)
    if len(keys):
        at = np.minimum(np.searchsorted(keys, col["project_key"]), len(keys) - 1)
        code = np.where(keys[at] == col["project_key"], at, len(keys))
    if len(keys) > 8:
        order = np.argsort(code, kind="stable")
        bounds = np.searchsorted(code[order], np.arange(len(keys) + 1))
    out: dict[str, HourTable] = {}
    for i, project_hash in enumerate(keys.tolist()):
        project_id = mine[project_hash]
        # (a few projects: one pass each beats a sort of every row)
        rows = order[bounds[i] : bounds[i + 1]] if len(keys) > 8 else np.flatnonzero(code == i)
        out[project_id] = _table(ids, col, rows, seqs.get(project_id, {}), floors.get(project_id))
    none = np.zeros(0, dtype=np.int64)
    for project_id in wanted:  # (a project with no stored entry yet)
        if project_id not in out:
            out[project_id] = _table(ids, col, none, {}, None)
    return out


def _codes(hashes: Any, ids: IdKeys) -> tuple[tuple[str, ...], Any]:
    """The distinct ids among `hashes` and each row's index among them (-1: NULL)."""
    distinct, inverse = np.unique(hashes, return_inverse=True)
    found = [ids.names.get(h) if h else None for h in distinct.tolist()]
    remap = np.full(len(found) + 1, -1, dtype=np.int64)
    present = [i for i, name in enumerate(found) if name is not None]
    remap[present] = np.arange(len(present))
    names = tuple(name for name in found if name is not None)
    return names, remap[inverse.reshape(-1)]


def _table(
    ids: IdKeys, col: dict[str, Any], rows: Any, seq_of: dict[str, int], floor: int | None
) -> HourTable:
    tasks, task = _codes(col["task_key"][rows], ids)
    users, owner = _codes(col["owner_key"][rows], ids)
    roles, role = _codes(col["role_key"][rows], ids)
    records, record = _codes(col["record_key"][rows], ids)
    # hours on the project itself: task None, one more dictionary entry
    task_ids: tuple[str | None, ...] = tasks
    if (task < 0).any():
        task_ids = (*tasks, None)
        task = np.where(task < 0, len(tasks), task)
    packed = col["packed"][rows]
    part = {name: _bits(packed, name) for name in _PACKED}
    kept = part["kept"] == 1
    priced_at = col["priced_at"][rows]
    if floor is not None:
        priced_at = np.where(kept, priced_at, np.maximum(priced_at, floor))
    cost_source = part["cost_source"].astype(np.int8)
    billing_source = part["billing_source"].astype(np.int8)
    # no source, no rate (R10.7): as the dictionary gave (0, 0, 0)
    cost_rate = np.where(cost_source == 0, 0, col["cost_rate_x"][rows])
    billing_rate = np.where(billing_source == 0, 0, col["billing_rate_x"][rows])
    return HourTable(
        seq=col["seq"][rows],
        task=task,
        owner=owner,
        role=role,
        record=record,
        day=part["day"],
        hours=part["hours"],
        counts_as_revenue=part["counts_as_revenue"] == 1,
        prices=Priced(
            cost_rate=cost_rate,
            cost_places=np.where(cost_source == 0, 0, part["cost_places"]),
            cost_source=cost_source,
            cost=col["cost_x"][rows],
            billing_rate=billing_rate,
            billing_places=np.where(billing_source == 0, 0, part["billing_places"]),
            billing_source=billing_source,
            revenue=col["revenue_x"][rows],
        ),
        kept=kept,
        priced_at=priced_at,
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
