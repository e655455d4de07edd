"""Rounding of money (R3.3): half-up to cents, once per line.

Rules: docs/rules.md#r3.3.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
ZERO_CENTS = Decimal("0.00")

#: Python's default context (28 digits, the same traps) rounding half-up: its
#: `quantize` takes no keyword, which made `cents` twice as slow (it runs per line).
_HALF_UP = Context(
    prec=28, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_quantize = _HALF_UP.quantize


def cents(value: Decimal) -> Decimal:
    """`value` rounded half-up to two places (R3.3)."""
    return _quantize(value, CENT)


def optional_cents(value: Decimal | None) -> Decimal:
    """An optional amount as a cents line; unset is 0 (R10.8)."""
    return ZERO_CENTS if value is None else cents(value)
