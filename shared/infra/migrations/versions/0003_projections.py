"""Projections of the recalc service, in their own schema `projection`.

Every table is a pure function of the log (R1.1): `tally replay` can rebuild them in
a schema `projection_next` (CREATE TABLE … (LIKE projection.… INCLUDING ALL)) and swap
the schemas, which is why the recalc code names the schema as a parameter.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TOTALS = ",\n".join(
    f"    {name} numeric NOT NULL DEFAULT 0"
    for name in (
        "planned_cost",
        "actual_cost",
        "planned_revenue",
        "actual_revenue",
        "planned_labor_cost",
        "actual_labor_cost",
        "planned_expense_cost",
        "actual_expense_cost",
        "fixed_cost_total",
        "fixed_revenue_total",
        "planned_profit",
        "actual_profit",
        "budget_total",
        "budget_variance",
        "billed_revenue",
    )
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA projection")
    # One row per project: its info (ProjectInfo), how far the log is applied to it,
    # and its R8 totals. `*_total` columns are the totals' view of a setting that is
    # also stored raw (fixed_cost, fixed_revenue, budget may be unset, totals never).
    op.execute(
        f"""
        CREATE TABLE projection.projects (
            project_id           text    PRIMARY KEY,
            name                 text    NOT NULL,
            status               text    NOT NULL,
            company_id           text,
            company_attached_at  bigint,
            planned_start        date,
            planned_completion   date,
            budget               numeric,
            fixed_cost           numeric,
            fixed_revenue        numeric,
            billed_locks_cost    boolean NOT NULL,
            follow_company_rate_changes boolean NOT NULL,
            role_overrides       jsonb   NOT NULL DEFAULT '{{}}',
            applied_position     bigint  NOT NULL,
        {_TOTALS}
        )
        """
    )
    op.execute(
        """
        CREATE TABLE projection.tasks (
            task_id              text    PRIMARY KEY,
            project_id           text    NOT NULL,
            name                 text    NOT NULL,
            status               text    NOT NULL,
            planned_hours        numeric NOT NULL,
            planned_start        date,
            planned_completion   date,
            cost_type            text    NOT NULL,
            revenue_type         text    NOT NULL,
            fixed_hourly_cost    numeric,
            revenue_amount       numeric,
            assignments          jsonb   NOT NULL DEFAULT '[]',
            planned_cost         numeric NOT NULL,
            planned_hourly_revenue numeric NOT NULL,
            plan_priced_at       bigint,
            billing_record_id    text,
            view_planned_cost    numeric NOT NULL,
            view_planned_revenue numeric NOT NULL,
            view_actual_hours    numeric NOT NULL,
            view_actual_cost     numeric NOT NULL,
            view_actual_revenue  numeric NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX tasks_project ON projection.tasks (project_id)")
    # Hours are the big table. A recalculation rewrites their prices only: with free
    # room on each page (fillfactor) and no index on a price column, those updates
    # are HOT (no index maintenance, no bloat of the project index).
    op.execute(
        """
        CREATE TABLE projection.hours (
            hour_id              text    PRIMARY KEY,
            project_id           text    NOT NULL,
            task_id              text,
            owner_id             text    NOT NULL,
            entry_date           date    NOT NULL,
            hours                numeric NOT NULL,
            role_id              text,
            counts_as_revenue    boolean NOT NULL,
            cost                 numeric NOT NULL,
            revenue              numeric NOT NULL,
            cost_rate            numeric,
            billing_rate         numeric,
            cost_rate_source     text,
            billing_rate_source  text,
            priced_at            bigint  NOT NULL,
            billing_record_id    text
        ) WITH (fillfactor = 70)
        """
    )
    op.execute("CREATE INDEX hours_project ON projection.hours (project_id)")
    op.execute(
        """
        CREATE TABLE projection.expenses (
            expense_id           text    PRIMARY KEY,
            project_id           text    NOT NULL,
            task_id              text,
            expense_type         text    NOT NULL,
            description          text,
            planned_amount       numeric,
            actual_amount        numeric,
            planned_date         date,
            paid_date            date,
            billable             boolean NOT NULL,
            reimbursable         boolean NOT NULL,
            billing_record_id    text
        )
        """
    )
    op.execute("CREATE INDEX expenses_project ON projection.expenses (project_id)")
    op.execute(
        """
        CREATE TABLE projection.billing_records (
            billing_record_id    text    PRIMARY KEY,
            project_id           text    NOT NULL,
            description          text    NOT NULL,
            status               text    NOT NULL,
            billing_date         date,
            po_number            text,
            invoice_id           text,
            additional_amount    numeric,
            hour_ids             text[]  NOT NULL,
            expense_ids          text[]  NOT NULL,
            task_ids             text[]  NOT NULL,
            view_billable_hours_amount    numeric NOT NULL,
            view_billable_expenses_amount numeric NOT NULL,
            view_fixed_revenue_amount     numeric NOT NULL,
            view_additional_amount        numeric NOT NULL,
            view_total                    numeric NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX billing_records_project ON projection.billing_records (project_id)")


def downgrade() -> None:
    op.execute("DROP SCHEMA projection CASCADE")
