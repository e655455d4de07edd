"""The pure pricing core of the recalc service: no I/O, no clock, no randomness (R1.1).

Modules: `rates` (tables, R4.1/R4.2/R4.6), `reference` (roles, users, companies and
their rates with history by knowledge position, R1.2), `state` (the plain lines the
worker persists, with running sums), `pricing` (rate chains, R4.4–R5.3), `planning`
(R5.4/R10.6), `recalc` (R6/R7.3), `totals` (R8, R5.5, R7.2), `finance_book` (the entry point).

Decisions where docs/rules.md is silent (indexed in docs/decisions.md):
- A manual `FinancesRecalculationRequested` recalculates the project of its stream
  (the ledger appends one event per project), once per event.
- `FinancesRecalculated.before` is the project's totals before the event that caused
  the recalculation (for a move, before the task left or arrived), `after` after it.
- `hours_repriced` counts entries whose amounts were computed again, a cost-only
  re-price of a billed entry included; `hours_locked` counts entries on billed records.
- `ProjectFinancesChanged` is published only when a project's totals differ from
  before the event (always for `ProjectCreated`); all of them come before the
  `FinancesRecalculated` of the same event, source project before target.
- A missing `fixed_hourly_cost` (or `revenue_amount` on `fixed_hourly`) is "no rate"
  (null rate and source), not a 0 rate.
- A role-only assignment on a user type prices its role's cost and R4.4 billing rate.
- An explicit null in an update for a field that can't be unset changes nothing.
- A task's planned revenue for `fixed_revenue` is the amount only (hourly parts 0).

Rules: docs/rules.md (R1-R10); worked examples: docs/examples.md.
"""
