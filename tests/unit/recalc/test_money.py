"""R3.3: amounts are rounded half-up to cents, exactly as Decimal's own quantize."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.recalc.domain.money import CENT, cents


@pytest.mark.parametrize(
    ("value", "want"),
    [("0.005", "0.01"), ("-0.005", "-0.01"), ("2.344", "2.34"), ("2.345", "2.35"), ("7", "7.00")],
)
def test_half_up_to_cents(value: str, want: str) -> None:
    got = cents(Decimal(value))
    assert str(got) == want


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_cents_is_decimals_half_up_quantize(value: Decimal) -> None:
    try:
        want = value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context holds: both refuse
        with pytest.raises(InvalidOperation):
            cents(value)
        return
    got = cents(value)
    assert repr(got) == repr(want)
