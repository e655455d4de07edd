"""The finance outbox: what the recalc service publishes, written in the same
transaction as the projection change it reports.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `seq` is handed out from finance_head under its row lock, just before commit,
    # so like the log it is gap-free and visible in commit order: the relay can
    # read `seq > last` without ever skipping a row that commits late.
    op.execute(
        """
        CREATE TABLE finance_outbox (
            seq            bigint   PRIMARY KEY CHECK (seq > 0),
            project_id     text     NOT NULL,
            position       bigint   NOT NULL,
            type           text     NOT NULL,
            schema_version smallint NOT NULL,
            payload        jsonb    NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE finance_head (
            id  boolean PRIMARY KEY DEFAULT true CHECK (id),
            seq bigint  NOT NULL
        )
        """
    )
    op.execute("INSERT INTO finance_head (id, seq) VALUES (true, 0)")


def downgrade() -> None:
    op.execute("DROP TABLE finance_head")
    op.execute("DROP TABLE finance_outbox")
