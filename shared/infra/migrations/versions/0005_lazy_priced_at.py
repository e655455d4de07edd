"""A recalculation's position, written once on the project row.

A recalculation re-prices every hour entry of a project (R6.1) and gives each the
recalculation's position as `priced_at`, though most keep their prices. Writing that
position into every row of a 100,000-entry project was most of the recalculation's
cost. Now the project row holds it (`hours_priced_at`), and an entry's `priced_at`
as read is the later of its own and that one, unless the recalculation kept the
entry as it was (`kept`: a billed entry whose cost is locked, R7.3/R10.9).

Existing rows hold their own positions and no project has `hours_priced_at`, so
every `priced_at` reads as before.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE projection.projects ADD COLUMN hours_priced_at bigint")
    op.execute("ALTER TABLE projection.hours ADD COLUMN kept boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute(
        "UPDATE projection.hours h SET priced_at = p.hours_priced_at"
        " FROM projection.projects p WHERE p.project_id = h.project_id"
        " AND NOT h.kept AND p.hours_priced_at > h.priced_at"
    )
    op.execute("ALTER TABLE projection.hours DROP COLUMN kept")
    op.execute("ALTER TABLE projection.projects DROP COLUMN hours_priced_at")
