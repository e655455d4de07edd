"""The ledger: validates posted events against the log (R9) and appends them.

Rules: docs/rules.md#r9.
"""
