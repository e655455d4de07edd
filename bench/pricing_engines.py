"""Which columnar engine prices many hour entries (issue 9, item 3)? A measurement.

Run: `.venv/bin/pip install -e ".[study]"` (polars, DuckDB), then
`.venv/bin/python -m bench.pricing_engines [--entries N] [--rounds N] [--no-db]`.

One synthetic project shaped like the bench's big one (100,000 entries, 20 tasks, a
few dozen users and roles, rate tables of one to four periods each, with gaps, open
ends and real zeros) is priced by the two-level chain of `bench.limits.PRICING_SQL`:
the owner's user rate, else the owner's primary role's rate, for cost and for
billing, each rounded half-up to cents (R3.3, R4.2, R5.2, R5.3).

Candidates:
- `pricer`: the service's scalar `Pricer` (Decimal, memoised chains), as recalc.py uses it;
- `numpy`: int64 scaled integers, one `searchsorted` per level on a (key, day) composite;
- `polars`: `join_asof(by=...)` per level on Int64 columns;
- `duckdb`: one SQL statement with an `ASOF LEFT JOIN` per level, exact DECIMAL
  (`duckdb-int`: the same joins, integer arithmetic).

Every candidate's cents are checked against a plain Decimal oracle on every entry.
Also measured: building the columns from Python objects and from PostgreSQL
(asyncpg rows, `COPY ... TO STDOUT` binary and CSV) in a scratch schema that is
dropped afterwards, writing changed rows back, import time and RSS added (each
engine in a fresh child process). Figures: best of N and median, candidates
alternated round by round (the machine's speed drifts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
SPAN = 1 << 20  # days are ordinals (< 2**20): composite key = key * SPAN + day
OPEN_END = SPAN - 1
FIRST_DAY = date(2023, 1, 2)
LAST_DAY = date(2025, 6, 30)
KINDS = ("user_cost", "user_billing", "role_cost", "role_billing")
DSN = os.environ.get("PRICING_DSN", "postgresql://postgres@127.0.0.1:5432/test")

Period = tuple[date | None, date | None, Decimal]


# -- the workload ------------------------------------------------------------------------


@dataclass
class Workload:
    users: list[str]
    roles: list[str]
    primary: dict[str, str]
    tasks: list[str]
    # kind -> key -> periods sorted by start (no overlaps; gaps allowed)
    tables: dict[str, dict[str, list[Period]]]
    # hour_id, task_id, owner_id, entry_date, hours
    entries: list[tuple[str, str, str, date, Decimal]]


def _table(rng: random.Random) -> list[Period]:
    """One to four periods over 2022-06..2026-01, maybe open at either end, maybe gaps."""
    count = rng.randint(1, 4)
    lo, hi = date(2022, 6, 1).toordinal(), date(2026, 1, 1).toordinal()
    cuts = sorted(rng.sample(range(lo, hi), 2 * count))
    out: list[Period] = []
    for i in range(count):
        start: date | None = date.fromordinal(cuts[2 * i])
        end: date | None = date.fromordinal(cuts[2 * i + 1])
        if rng.random() < 0.6 and i + 1 < count:  # most have no gap: next starts next day
            cuts[2 * i + 2] = cuts[2 * i + 1] + 1
        if i == 0 and rng.random() < 0.5:
            start = None
        if i == count - 1 and rng.random() < 0.5:
            end = None
        value = Decimal(0) if rng.random() < 0.04 else Decimal(rng.randint(1, 2_000_000)) / 10_000
        out.append((start, end, value))
    return out


def make_workload(entries: int = 100_000, seed: int = 9) -> Workload:
    rng = random.Random(seed)
    roles = [f"r{i:02d}" for i in range(20)]
    users = [f"u{i:03d}" for i in range(40)]
    primary = {u: rng.choice(roles) for u in users}
    tasks = [f"t{i:02d}" for i in range(20)]
    share = {"user_cost": 0.5, "user_billing": 0.4, "role_cost": 0.9, "role_billing": 0.9}
    tables: dict[str, dict[str, list[Period]]] = {}
    for kind in KINDS:
        keys = users if kind.startswith("user") else roles
        tables[kind] = {k: _table(rng) for k in keys if rng.random() < share[kind]}
    days = (LAST_DAY - FIRST_DAY).days
    rows = []
    for i in range(entries):
        rows.append(
            (
                f"h{i:06d}",
                rng.choice(tasks),
                rng.choice(users),
                FIRST_DAY + timedelta(days=rng.randint(0, days)),
                Decimal(rng.randint(25, 2400)) / 100,
            )
        )
    return Workload(users, roles, primary, tasks, tables, rows)


# -- the oracle: plain Decimal, a linear scan per look-up --------------------------------


def _on(periods: list[Period] | None, day: date) -> Decimal | None:
    for start, end, value in periods or ():
        if (start is None or start <= day) and (end is None or day <= end):
            return value
    return None


def oracle(w: Workload) -> tuple[list[int], list[int]]:
    """Cost and revenue cents of every entry."""
    costs, revenues = [], []
    t = w.tables
    for _, _, owner, day, hours in w.entries:
        role = w.primary[owner]
        out = []
        for level in ("cost", "billing"):
            rate = _on(t[f"user_{level}"].get(owner), day)
            if rate is None:
                rate = _on(t[f"role_{level}"].get(role), day)
            amount = 0 if rate is None else int((hours * rate).quantize(CENT, ROUND_HALF_UP) * 100)
            out.append(amount)
        costs.append(out[0])
        revenues.append(out[1])
    return costs, revenues


# -- columns -------------------------------------------------------------------------------


@dataclass
class Columns:
    """Entries and tables as plain int lists (any engine converts from these)."""

    owner: list[int]
    prole: list[int]  # the owner's primary role index
    day: list[int]  # date ordinal
    hours: list[int]  # hours x 100
    # kind -> (key, start, end, value x 10_000), sorted by (key, start)
    tables: dict[str, list[tuple[int, int, int, int]]]


def scaled(value: Decimal, places: int) -> int:
    out = value.scaleb(places)
    assert out == out.to_integral_value(), value  # exact or refuse
    return int(out)


def build_columns(w: Workload) -> Columns:
    """From Python objects: ids to indexes, dates to ordinals, Decimals to scaled ints
    (memoised by value: a project repeats the same few hundred of each)."""
    uix = {u: i for i, u in enumerate(w.users)}
    rix = {r: i for i, r in enumerate(w.roles)}
    prole_of = [rix[w.primary[u]] for u in w.users]
    days: dict[date, int] = {}
    hrs: dict[Decimal, int] = {}
    owner, prole, day, hours = [], [], [], []
    for _, _, o, d, h in w.entries:
        oi = uix[o]
        owner.append(oi)
        prole.append(prole_of[oi])
        dd = days.get(d)
        if dd is None:
            dd = days[d] = d.toordinal()
        day.append(dd)
        hh = hrs.get(h)
        if hh is None:
            hh = hrs[h] = scaled(h, 2)
        hours.append(hh)
    tables = {}
    for kind in KINDS:
        index = uix if kind.startswith("user") else rix
        rows = []
        for key, periods in w.tables[kind].items():
            for start, end, value in periods:
                rows.append(
                    (
                        index[key],
                        0 if start is None else start.toordinal(),
                        OPEN_END if end is None else end.toordinal(),
                        scaled(value, 4),
                    )
                )
        rows.sort()
        tables[kind] = rows
    return Columns(owner, prole, day, hours, tables)


# -- candidates ----------------------------------------------------------------------------


def numpy_engine(c: Columns) -> Callable[[], tuple[Any, Any]]:
    import numpy as np

    owner = np.array(c.owner, dtype=np.int64)
    prole = np.array(c.prole, dtype=np.int64)
    day = np.array(c.day, dtype=np.int64)
    hours = np.array(c.hours, dtype=np.int64)
    tabs = {}
    for kind, rows in c.tables.items():
        a = np.array(rows, dtype=np.int64).reshape(-1, 4)
        tabs[kind] = (a[:, 0] * SPAN + a[:, 1], a[:, 0], a[:, 2].copy(), a[:, 3].copy())

    def asof(kind: str, key: Any) -> tuple[Any, Any]:
        composite, keys, ends, values = tabs[kind]
        i = np.searchsorted(composite, key * SPAN + day, side="right") - 1
        j = np.maximum(i, 0)
        ok = (i >= 0) & (keys[j] == key) & (ends[j] >= day)
        return ok, values[j]

    def run() -> tuple[Any, Any]:
        out = []
        for level in ("cost", "billing"):
            uok, urate = asof(f"user_{level}", owner)
            rok, rrate = asof(f"role_{level}", prole)
            rate = np.where(uok, urate, np.where(rok, rrate, 0))  # coalesce in chain order
            # rate x 10^4 times hours x 10^2 is in 10^-6: half-up to cents, exact
            out.append((hours * rate + 5_000) // 10_000)
        return out[0], out[1]

    return run


def polars_engine(c: Columns) -> Callable[[], tuple[Any, Any]]:
    import polars as pl

    entries = pl.DataFrame(
        {
            "n": range(len(c.day)),
            "owner": c.owner,
            "prole": c.prole,
            "day": c.day,
            "hours": c.hours,
        },
        schema={
            "n": pl.Int64,
            "owner": pl.Int64,
            "prole": pl.Int64,
            "day": pl.Int64,
            "hours": pl.Int64,
        },
    )
    tabs = {}
    for kind, rows in c.tables.items():
        t = pl.DataFrame(rows, schema=["key", "start", "end", "value"], orient="row")
        tabs[kind] = t.with_columns(pl.all().cast(pl.Int64)).sort("start")

    def run() -> tuple[Any, Any]:
        e = entries.sort("day")
        cols = []
        for level in ("cost", "billing"):
            for who, by in (("user", "owner"), ("role", "prole")):
                t = tabs[f"{who}_{level}"].rename(
                    {"start": f"s_{who}", "end": f"e_{who}", "value": f"v_{who}"}
                )
                e = e.join_asof(
                    t,
                    left_on="day",
                    right_on=f"s_{who}",
                    by_left=by,
                    by_right="key",
                    strategy="backward",
                    check_sortedness=False,
                )
            rate = (
                pl.when(pl.col("e_user") >= pl.col("day"))
                .then(pl.col("v_user"))
                .when(pl.col("e_role") >= pl.col("day"))
                .then(pl.col("v_role"))
                .otherwise(0)
            )
            e = e.with_columns(((pl.col("hours") * rate + 5_000) // 10_000).alias(level))
            e = e.drop(["s_user", "e_user", "v_user", "s_role", "e_role", "v_role"])
            cols.append(level)
        e = e.sort("n")
        return e["cost"].to_numpy(), e["billing"].to_numpy()

    return run


def duckdb_engine(c: Columns, decimal: bool = True) -> Callable[[], tuple[Any, Any]]:
    import duckdb
    import numpy as np

    con = duckdb.connect()
    con.register(
        "h",
        {
            "n": np.arange(len(c.day), dtype=np.int64),
            "owner": np.array(c.owner, dtype=np.int64),
            "prole": np.array(c.prole, dtype=np.int64),
            "day": np.array(c.day, dtype=np.int64),
            "hours": np.array(c.hours, dtype=np.int64),
        },
    )
    for kind, rows in c.tables.items():
        a = np.array(rows, dtype=np.int64).reshape(-1, 4)
        con.register(f"raw_{kind}", {"k": a[:, 0], "s": a[:, 1], "e": a[:, 2], "v": a[:, 3]})
        con.execute(
            f"CREATE TABLE {kind} AS SELECT k AS key, s AS start, e AS end_, "
            "CAST(v AS DECIMAL(18,0)) * CAST(0.0001 AS DECIMAL(5,4)) AS value, v AS ivalue "
            f"FROM raw_{kind}"
        )
    con.execute(
        "CREATE TABLE hours AS SELECT n, owner, prole, day, "
        "CAST(hours AS DECIMAL(8,0)) * CAST(0.01 AS DECIMAL(3,2)) AS hours, hours AS ihours FROM h"
    )

    def pick(level: str, col: str) -> str:
        return (
            f"CASE WHEN u{level[0]}.end_ >= x.day THEN u{level[0]}.{col} "
            f"WHEN r{level[0]}.end_ >= x.day THEN r{level[0]}.{col} END"
        )

    if decimal:
        amount = "CAST(coalesce(round(x.hours * {r}, 2), 0) * 100 AS BIGINT)"
        col = "value"
    else:
        amount = "coalesce((x.ihours * {r} + 5000) // 10000, 0)"
        col = "ivalue"
    joins = " ".join(
        f"ASOF LEFT JOIN {who}_{level} {who[0]}{level[0]} "
        f"ON x.{by} = {who[0]}{level[0]}.key AND x.day >= {who[0]}{level[0]}.start"
        for level in ("cost", "billing")
        for who, by in (("user", "owner"), ("role", "prole"))
    )
    sql = (
        f"SELECT x.n, {amount.format(r=pick('cost', col))} AS cost, "
        f"{amount.format(r=pick('billing', col))} AS revenue FROM hours x {joins} ORDER BY x.n"
    )

    def run() -> tuple[Any, Any]:
        out = con.execute(sql).fetchnumpy()
        return out["cost"], out["revenue"]

    return run


def pricer_engine(w: Workload) -> Callable[[], tuple[list[int], list[int]]]:
    """The service's own scalar path: `Pricer.hour_rates` per entry, Decimal amounts
    quantized inline, as `recalc._reprice_hours` does (a fresh Pricer per run: cold memos)."""
    from datetime import UTC, datetime

    from services.recalc.domain.pricing import Pricer
    from services.recalc.domain.project_lines import ProjectInfo, TaskState
    from services.recalc.domain.reference import ReferenceData
    from shared.events import JobRoleDefined, RatePeriod, RatesSet, RecordedEvent, UserDefined

    ref = ReferenceData()
    position = 0
    stamp = datetime(2025, 7, 1, tzinfo=UTC)

    def feed(data: Any, stream: str) -> None:
        nonlocal position
        position += 1
        ref.apply(RecordedEvent(position, f"e{position}", stream, 1, stamp, "bench", data))

    for r in w.roles:
        feed(JobRoleDefined(role_id=r, name=r), f"role-{r}")
    for u in w.users:
        feed(UserDefined(user_id=u, name=u, primary_role_id=w.primary[u]), f"user-{u}")
    for kind in KINDS:
        level, rate_type = kind.split("_")
        for key, periods in w.tables[kind].items():
            data = RatesSet(
                level=level,
                rate_type=rate_type,
                **{f"{level}_id": key},
                periods=tuple(RatePeriod(value=v, start_date=s, end_date=e) for s, e, v in periods),
            )
            feed(data, f"{level}-{key}")
    info = ProjectInfo(project_id="P", name="P")
    tasks = {t: TaskState(task_id=t, project_id="P", name=t) for t in w.tasks}
    at = position

    def run() -> tuple[list[int], list[int]]:
        rates_of = Pricer(ref, info, at).hour_rates
        costs, revenues = [], []
        for _, task_id, owner, day, hours in w.entries:
            cost, billing = rates_of(tasks[task_id], owner, None, day)
            costs.append(0 if cost is None else (hours * cost[0]).quantize(CENT, ROUND_HALF_UP))
            revenues.append(
                0 if billing is None else (hours * billing[0]).quantize(CENT, ROUND_HALF_UP)
            )
        return costs, revenues

    return run


def _check(name: str, got: tuple[Any, Any], want: tuple[list[int], list[int]]) -> None:
    for label, g, x in zip(("cost", "revenue"), got, want, strict=True):
        values = [int(v * 100) if isinstance(v, Decimal) else int(v) for v in g]
        if values != x:
            bad = next(i for i, (a, b) in enumerate(zip(values, x, strict=True)) if a != b)
            raise AssertionError(
                f"{name}: {label} differs at entry {bad}: {values[bad]} != {x[bad]}"
            )
        if hasattr(g, "dtype"):
            assert g.dtype.kind in "iu", f"{name}: {label} dtype {g.dtype}"


# -- PostgreSQL: building columns from the database, writing rows back ------------------------


def _binary_rows(payload: bytes, fields: int) -> Any:
    """Rows of a `COPY ... (FORMAT binary)` whose fields are all int4 and NOT NULL:
    fixed width, so one structured view of the buffer (19-byte header, 2-byte trailer)."""
    import numpy as np

    dtype = np.dtype(
        [("n", ">i2")] + [(x, ">i4") for i in range(fields) for x in (f"l{i}", f"v{i}")]
    )
    body = payload[19:-2]
    rows = np.frombuffer(body, dtype=dtype)
    assert (rows["n"] == fields).all() and all((rows[f"l{i}"] == 4).all() for i in range(fields))
    return [rows[f"v{i}"].astype(np.int64) for i in range(fields)]


def _binary_out(index: Any, cost: Any, revenue: Any) -> bytes:
    """A `COPY ... FROM STDIN (FORMAT binary)` payload of (int4, int8, int8) rows."""
    import numpy as np

    dtype = np.dtype(
        [
            ("n", ">i2"),
            ("l0", ">i4"),
            ("v0", ">i4"),
            ("l1", ">i4"),
            ("v1", ">i8"),
            ("l2", ">i4"),
            ("v2", ">i8"),
        ]
    )
    rows = np.empty(len(index), dtype=dtype)
    rows["n"], rows["l0"], rows["l1"], rows["l2"] = 3, 4, 8, 8
    rows["v0"], rows["v1"], rows["v2"] = index, cost, revenue
    return b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + rows.tobytes() + b"\xff\xff"


async def database_figures(w: Workload, rounds: int) -> dict[str, list[float]]:
    import asyncpg
    import numpy as np
    import polars as pl

    schema = f"colstudy_{os.getpid()}"
    conn = await asyncpg.connect(DSN)
    times: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(
            f"CREATE TABLE {schema}.hours (n int PRIMARY KEY, hour_id text, task_id text,"
            " owner_id text, entry_date date, hours numeric, cost numeric, revenue numeric)"
        )
        await conn.copy_records_to_table(
            "hours",
            schema_name=schema,
            columns=["n", "hour_id", "task_id", "owner_id", "entry_date", "hours"],
            records=[(i, *e) for i, e in enumerate(w.entries)],
        )
        await conn.execute(f"ANALYZE {schema}.hours")
        users = w.users
        uix = {u: i for i, u in enumerate(users)}
        ints = (
            f"SELECT n, array_position($1::text[], owner_id) - 1,"
            f" entry_date - date '0001-01-01' + 1, (hours * 100)::int FROM {schema}.hours"
        )
        ints_lit = ints.replace("$1::text[]", "'{" + ",".join(users) + "}'::text[]")
        for _ in range(rounds):
            # 1. plain rows, converted in Python (what hourload.py does, minus objects)
            t0 = time.perf_counter()
            rows = await conn.fetch(f"SELECT n, owner_id, entry_date, hours FROM {schema}.hours")
            days: dict[date, int] = {}
            hrs: dict[Decimal, int] = {}
            owner = np.fromiter((uix[r[1]] for r in rows), np.int64, len(rows))
            day = np.fromiter(
                (
                    days[d] if d in days else days.setdefault(d, d.toordinal())
                    for d in (r[2] for r in rows)
                ),
                np.int64,
                len(rows),
            )
            hours = np.fromiter(
                (
                    hrs[h] if h in hrs else hrs.setdefault(h, scaled(h, 2))
                    for h in (r[3] for r in rows)
                ),
                np.int64,
                len(rows),
            )
            note("load: asyncpg rows -> numpy (Python conversion)", time.perf_counter() - t0)
            # 2. integers computed by PostgreSQL, rows to numpy
            t0 = time.perf_counter()
            rows = await conn.fetch(ints, users)
            a = np.array(rows, dtype=np.int64)
            note("load: asyncpg int rows -> numpy", time.perf_counter() - t0)
            assert (a[:, 1] == owner).all() and (a[:, 2] == day).all() and (a[:, 3] == hours).all()
            # 3. COPY binary of the same integers, one frombuffer
            t0 = time.perf_counter()
            chunks: list[bytes] = []

            async def sink(chunk: bytes, chunks: list[bytes] = chunks) -> None:
                chunks.append(chunk)

            await conn.copy_from_query(ints_lit, output=sink, format="binary")
            cols = _binary_rows(b"".join(chunks), 4)
            note("load: COPY binary -> numpy", time.perf_counter() - t0)
            assert (cols[1] == owner).all() and (cols[3] == hours).all()
            # 4. COPY CSV of the same integers, read by polars
            t0 = time.perf_counter()
            chunks2: list[bytes] = []

            async def sink2(chunk: bytes, chunks: list[bytes] = chunks2) -> None:
                chunks.append(chunk)

            await conn.copy_from_query(ints_lit, output=sink2, format="csv")
            frame = pl.read_csv(
                b"".join(chunks2),
                has_header=False,
                schema={"n": pl.Int64, "o": pl.Int64, "d": pl.Int64, "h": pl.Int64},
            )
            note("load: COPY csv -> polars", time.perf_counter() - t0)
            assert (frame["h"].to_numpy() == hours).all()
            # 5. writing back: every row, and a tenth of them (COPY binary to a temp
            # table, one UPDATE ... FROM); amounts go out as int8 cents, numeric in PG
            rng = np.random.default_rng(len(times))
            cost = rng.integers(0, 10**7, len(owner))
            for share in (1.0, 0.1):
                pick = np.flatnonzero(rng.random(len(owner)) < share).astype(np.int64)
                t0 = time.perf_counter()
                payload = _binary_out(cols[0][pick], cost[pick], cost[pick])
                async with conn.transaction():
                    await conn.execute(
                        "CREATE TEMP TABLE priced (n int, cost bigint, revenue bigint)"
                        " ON COMMIT DROP"
                    )
                    await conn.copy_to_table("priced", source=_chunks(payload), format="binary")
                    await conn.execute(
                        f"UPDATE {schema}.hours h SET cost = p.cost * 0.01,"
                        " revenue = p.revenue * 0.01 FROM priced p WHERE h.n = p.n"
                    )
                note(
                    f"write: {share:.0%} of rows changed (COPY binary + UPDATE)",
                    time.perf_counter() - t0,
                )
        check = await conn.fetchval(f"SELECT count(*) FROM {schema}.hours WHERE cost IS NULL")
        assert check == 0
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    return times


async def _chunks(payload: bytes, size: int = 1 << 20) -> Any:
    """An async iterable source for `copy_to_table`."""
    for i in range(0, len(payload), size):
        yield payload[i : i + size]


# -- import time and RSS, each engine in a fresh process -------------------------------------


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(engine: str, entries: int) -> None:
    w = make_workload(entries)
    c = build_columns(w)
    base = _rss_kib()
    t0 = time.perf_counter()
    if engine == "pricer":
        import services.recalc.domain.pricing  # noqa: F401
    elif engine == "numpy":
        import numpy
    elif engine == "polars":
        import numpy
        import polars  # noqa: F401
    elif engine == "duckdb":
        import duckdb  # noqa: F401
        import numpy  # noqa: F401
    imported = time.perf_counter() - t0
    after_import = _rss_kib()
    make = {
        "numpy": numpy_engine,
        "polars": polars_engine,
        "duckdb": duckdb_engine,
        "pricer": pricer_engine,
    }[engine]
    run = make(w if engine == "pricer" else c)  # type: ignore[operator]
    for _ in range(3):
        run()
    peak = _rss_kib("VmHWM")  # high-water mark of this process (ru_maxrss survives exec)
    print(
        json.dumps(
            {
                "import_s": imported,
                "import_mib": (after_import - base) / 1024,
                "after_runs_mib": (_rss_kib() - base) / 1024,
                "peak_mib": (peak - base) / 1024,
                "base_mib": base / 1024,
            }
        )
    )


# -- the table -------------------------------------------------------------------------------


def _row(name: str, xs: list[float], n: int | None) -> str:
    best, med = min(xs), statistics.median(xs)
    rate = f"{n / best / 1000:10.0f}" if n else " " * 10
    return f"  {name:<52} {best * 1000:9.1f} {med * 1000:9.1f} {rate}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-db", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.entries)
        return
    n = args.entries
    print(f"workload: {n} entries, cpu count {os.cpu_count()}, rounds {args.rounds}")
    w = make_workload(n)
    want = oracle(w)
    times: dict[str, list[float]] = {}
    for _ in range(3):
        t0 = time.perf_counter()
        c = build_columns(w)
        times.setdefault("columns from Python objects (ids, dates, Decimals)", []).append(
            time.perf_counter() - t0
        )
    engines = {
        "pricer": lambda: pricer_engine(w),
        "numpy": lambda: numpy_engine(c),
        "polars": lambda: polars_engine(c),
        "duckdb": lambda: duckdb_engine(c, decimal=True),
        "duckdb-int": lambda: duckdb_engine(c, decimal=False),
    }
    runs: dict[str, Callable[[], Any]] = {}
    for name, make in engines.items():
        t0 = time.perf_counter()
        runs[name] = make()
        times.setdefault(f"setup {name} (lists -> engine's columns)", []).append(
            time.perf_counter() - t0
        )
        _check(name, runs[name](), want)  # every entry, to the cent
    names = list(runs)
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # alternate
        for name in order:
            t0 = time.perf_counter()
            runs[name]()
            times.setdefault(f"price {name}", []).append(time.perf_counter() - t0)
    for name in names:  # rebuild timings: a few more rounds of setup
        for _ in range(2):
            t0 = time.perf_counter()
            engines[name]()
            times[f"setup {name} (lists -> engine's columns)"].append(time.perf_counter() - t0)
    if not args.no_db:
        times.update(asyncio.run(database_figures(w, max(3, args.rounds // 2))))
    print(f"  {'figure':<52} {'best ms':>9} {'median ms':>9} {'k entries/s':>10}")
    for name, xs in times.items():
        counted = name.startswith(("price", "load", "columns"))
        print(_row(name, xs, n if counted else None))
    print("  import and memory, each in a fresh process (MiB over the workload's own RSS):")
    for engine in ("pricer", "numpy", "polars", "duckdb"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.pricing_engines", "--child", engine, "--entries", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        f = json.loads(out.stdout)
        print(
            f"  {engine:<10} import {f['import_s'] * 1000:6.0f} ms  +{f['import_mib']:5.1f} MiB"
            f" on import, +{f['after_runs_mib']:5.1f} MiB after 3 runs, peak +{f['peak_mib']:.0f}"
            f" MiB (workload alone {f['base_mib']:.0f} MiB)"
        )
    print("exactness: every candidate equals the Decimal oracle on every entry (cost and revenue)")


if __name__ == "__main__":
    main()
