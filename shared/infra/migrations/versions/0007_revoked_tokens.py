"""Revoked API tokens, by their `jti` (`tally token revoke`).

Every HTTP process keeps the set in memory and reloads it every few seconds
(`shared.infra.revocation`). Rows are never deleted by Tally: a revoked token's id
stays refused; an operator may delete rows of tokens long expired.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE revoked_tokens (
            jti        text PRIMARY KEY,
            revoked_at timestamptz NOT NULL DEFAULT now(),
            reason     text
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE revoked_tokens")
