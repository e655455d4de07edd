"""Projects the recalc worker cannot price, parked with their error.

An event that the ledger accepted but that pricing cannot apply (a bug, or a value
an older ledger let through) must never stop pricing for other projects. The worker
isolates the failing project, records it here and moves on; the project's reads
answer 503 `project_unpriceable` and `tally status` lists it. A later advance that
succeeds (after a fix or an upcaster is deployed: every worker start retries the
parked projects, and so does any news of the project) deletes the row.

The table is outside the projection schema: `tally replay --swap` replaces that
schema, and what the live workers could not price stays known across a swap.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE unpriceable_projects (
            project_id       text PRIMARY KEY,
            position         bigint NOT NULL,
            applied_position bigint NOT NULL,
            error            text NOT NULL,
            first_failed_at  timestamptz NOT NULL DEFAULT now(),
            last_failed_at   timestamptz NOT NULL DEFAULT now(),
            attempts         integer NOT NULL DEFAULT 1
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE unpriceable_projects")
