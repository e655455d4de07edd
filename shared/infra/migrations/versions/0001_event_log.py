"""The event log: append-only, gap-free positions in commit order.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE events (
            position       bigint      PRIMARY KEY CHECK (position > 0),
            event_id       uuid        NOT NULL UNIQUE,
            stream         text        NOT NULL,
            version        integer     NOT NULL CHECK (version > 0),
            type           text        NOT NULL,
            schema_version smallint    NOT NULL,
            data           jsonb       NOT NULL,
            recorded_at    timestamptz NOT NULL,
            actor          text        NOT NULL,
            CONSTRAINT events_stream_version UNIQUE (stream, version)
        )
        """
    )
    op.execute("CREATE INDEX events_type_position ON events (type, position)")
    op.execute(
        "CREATE INDEX events_moved_to ON events ((data->>'to_project_id'), position)"
        " WHERE type = 'TaskMoved'"
    )
    # The head of the log. Every append updates this one row, so appends are
    # serialised and positions are handed out gap-free and become visible in
    # commit order: a reader that has seen position N can never later find an
    # event below N (see services/ledger/service_layer/group_commit.py).
    op.execute(
        """
        CREATE TABLE log_head (
            id       boolean PRIMARY KEY DEFAULT true CHECK (id),
            position bigint  NOT NULL
        )
        """
    )
    op.execute("INSERT INTO log_head (id, position) VALUES (true, 0)")
    # Append-only, enforced by the database for every client, not only by our code.
    op.execute(
        """
        CREATE FUNCTION tally_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the event log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events"
        " FOR EACH ROW EXECUTE FUNCTION tally_append_only()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"
        " FOR EACH STATEMENT EXECUTE FUNCTION tally_append_only()"
    )
    # Where each outbox relay has published up to, and which broker it saw.
    op.execute(
        """
        CREATE TABLE relay_offsets (
            name     text   PRIMARY KEY,
            position bigint NOT NULL,
            broker_marker text
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE relay_offsets")
    op.execute("DROP TABLE log_head")
    op.execute("DROP TABLE events")
    op.execute("DROP FUNCTION tally_append_only()")
