"""Running sums of hour entries stored beside their task and project.

The recalc worker holds a project without its hour entries unless an event needs
them (an edit, a delete, a billing item, a recalculation, a task move): its running
sums per task (and of the hours on the project itself) are read from these columns
instead of being summed over every entry on each load. They are written in the same
transaction as the entries they sum.

Existing rows get their sums from the hour table. `tasks` and `projects` are
updated on almost every worker transaction: free room on each page lets those
updates be HOT (no index maintenance).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SUMS = ("count bigint", "hours numeric", "cost numeric", "revenue numeric")


def upgrade() -> None:
    for column in _SUMS:
        name, pg_type = column.split()
        op.execute(
            f"ALTER TABLE projection.tasks ADD COLUMN line_{name} {pg_type} NOT NULL DEFAULT 0"
        )
        op.execute(
            f"ALTER TABLE projection.projects ADD COLUMN own_{name} {pg_type} NOT NULL DEFAULT 0"
        )
    op.execute(
        """
        UPDATE projection.tasks t
        SET line_count = s.n, line_hours = s.hours, line_cost = s.cost, line_revenue = s.revenue
        FROM (
            SELECT project_id, task_id, count(*) AS n, sum(hours) AS hours, sum(cost) AS cost,
                   sum(revenue) AS revenue
            FROM projection.hours WHERE task_id IS NOT NULL GROUP BY project_id, task_id
        ) s
        WHERE t.project_id = s.project_id AND t.task_id = s.task_id
        """
    )
    op.execute(
        """
        UPDATE projection.projects p
        SET own_count = s.n, own_hours = s.hours, own_cost = s.cost, own_revenue = s.revenue
        FROM (
            SELECT project_id, count(*) AS n, sum(hours) AS hours, sum(cost) AS cost,
                   sum(revenue) AS revenue
            FROM projection.hours WHERE task_id IS NULL GROUP BY project_id
        ) s
        WHERE p.project_id = s.project_id
        """
    )
    op.execute("ALTER TABLE projection.tasks SET (fillfactor = 70)")
    op.execute("ALTER TABLE projection.projects SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE projection.projects RESET (fillfactor)")
    op.execute("ALTER TABLE projection.tasks RESET (fillfactor)")
    for column in _SUMS:
        name = column.split()[0]
        op.execute(f"ALTER TABLE projection.projects DROP COLUMN own_{name}")
        op.execute(f"ALTER TABLE projection.tasks DROP COLUMN line_{name}")
