"""The pure pricing core of the recalc service: no I/O, no clock, no randomness (R1.1).

Modules: `rates` (tables, R4.1/R4.2/R4.6), `reference` (roles, users, companies and
their rates with history by knowledge position, R1.2), `project_lines` and `state`
(the plain lines the worker persists, with running sums), `pricing` (rate chains,
R4.4–R5.3), `columns` and `hour_table` (the same chains over many entries at once),
`planning` (R5.4/R10.6), `recalc` (R6/R7.3), `totals` (R8, R5.5, R7.2),
`project_handlers` and `line_handlers` (one function per event type), `finance_book`
(the entry point).

Decisions where docs/rules.md is silent: docs/decisions.md#pricing.
Rules: docs/rules.md (R1-R10); worked examples: docs/examples.md.
"""
