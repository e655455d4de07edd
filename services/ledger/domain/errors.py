"""Why the write model refuses an event (R9): a stable code, a field and a sentence.

Rules: docs/rules.md#r9; codes: docs/contract.md#errors.
"""

from __future__ import annotations


class RuleViolation(Exception):
    """An event the log refuses (answered 409). `field` is relative to the envelope,
    e.g. `data.periods[1].start_date`; `event_index` is set by whoever knows the batch."""

    def __init__(
        self, code: str, message: str, field: str | None = None, event_index: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.event_index = event_index

    def at(self, event_index: int) -> RuleViolation:
        self.event_index = event_index
        return self
