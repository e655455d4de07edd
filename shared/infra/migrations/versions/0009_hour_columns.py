"""Hour rows carry their columnar form, computed by PostgreSQL on every write.

A recalculation loads a project's hour entries as integer columns (issue 9,
`services/recalc/adapters/hours_as_columns.py`). Computing that form at read time (hashing
five ids, scaling numerics, hashing the prices) cost more than reading the rows, and
a binary COPY costs about the same per value sent whatever the value: so the form is
stored, as generated columns, and packed into few values.

- `*_key`: `hashtextextended(id, 0)` of each id (NULL for a NULL id); the loader maps
  hashes back to ids and refuses a load where two ids of a column share one.
- `cost_x`, `revenue_x`: cents; `cost_rate_x`, `billing_rate_x`: 1/10,000ths, 0 for
  no rate. NULL (amounts) or -1 (rates) where the value is not exact at that scale or
  too large: the loader refuses the project (priced as objects instead).
- `packed`, low bits first: the date's ordinal (22 bits; `date.toordinal`), hours in
  hundredths (12), the cost rate's written scale (5, at most 30) and source code (3),
  the billing rate's scale (5) and source code (3), `counts_as_revenue` (1), `kept`
  (1). NULL when a part does not fit (the loader refuses the project). Source codes are
  `columns.SOURCES`' indexes: 0 none, 1 user, 2 role, 3 company_role, 4 project_role,
  5 task, 7 anything else.

Adding stored generated columns rewrites `projection.hours` once.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEYS = {
    "project_key": "project_id",
    "task_key": "task_id",
    "owner_key": "owner_id",
    "role_key": "role_id",
    "record_key": "billing_record_id",
}


def _cents(column: str) -> str:
    return (
        f"CASE WHEN abs({column}) < 1e16 AND {column} * 100 = trunc({column} * 100)"
        f" THEN ({column} * 100)::int8 END"
    )


def _rate(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL THEN 0::int8"
        f" WHEN {column} >= 0 AND {column} < 1e14"
        f" AND {column} * 10000 = trunc({column} * 10000) THEN ({column} * 10000)::int8"
        " ELSE -1::int8 END"
    )


def _source(column: str) -> str:
    codes = ("user", "role", "company_role", "project_role", "task")
    whens = " ".join(f"WHEN {column} = '{s}' THEN {i}" for i, s in enumerate(codes, start=1))
    return f"(CASE WHEN {column} IS NULL THEN 0 {whens} ELSE 7 END)::int8"


def _scale(column: str) -> str:
    return f"coalesce(scale({column}), 0)::int8"


_PACKED = (
    "CASE WHEN entry_date >= DATE '0001-01-01'"
    " AND entry_date - DATE '0001-01-01' + 1 < 4194304"
    " AND hours > 0 AND hours * 100 < 4096 AND hours * 100 = trunc(hours * 100)"
    " AND coalesce(scale(cost_rate), 0) <= 30 AND coalesce(scale(billing_rate), 0) <= 30"
    " THEN (entry_date - DATE '0001-01-01' + 1)::int8"
    " | ((hours * 100)::int8 << 22)"
    f" | ({_scale('cost_rate')} << 34)"
    f" | ({_source('cost_rate_source')} << 39)"
    f" | ({_scale('billing_rate')} << 42)"
    f" | ({_source('billing_rate_source')} << 47)"
    " | (counts_as_revenue::int::int8 << 50)"
    " | (kept::int::int8 << 51) END"
)

_COLUMNS = {
    **{name: f"hashtextextended({column}, 0)" for name, column in _KEYS.items()},
    "cost_x": _cents("cost"),
    "revenue_x": _cents("revenue"),
    "cost_rate_x": _rate("cost_rate"),
    "billing_rate_x": _rate("billing_rate"),
    "packed": _PACKED,
}


def upgrade() -> None:
    op.execute(
        "ALTER TABLE projection.hours "
        + ", ".join(
            f"ADD COLUMN {name} int8 GENERATED ALWAYS AS ({expression}) STORED"
            for name, expression in _COLUMNS.items()
        )
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE projection.hours " + ", ".join(f"DROP COLUMN {name}" for name in _COLUMNS)
    )
