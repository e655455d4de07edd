"""Rounding of money (R3.3): half-up to cents, once per line.

Rules: docs/rules.md#r3.3.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)
ZERO_CENTS = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """`value` rounded half-up to two places (R3.3)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def optional_cents(value: Decimal | None) -> Decimal:
    """An optional amount as a cents line; unset is 0 (R10.8)."""
    return ZERO_CENTS if value is None else cents(value)
