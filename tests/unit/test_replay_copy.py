"""`replay_copy.copy_text`: rows in COPY's text format, exactly as PostgreSQL reads
them back, or None when a text value would need escaping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.recalc.service_layer.replay_copy import TEXT_KINDS, copy_text

KINDS = ["text", "text", "date", "numeric", "boolean", "bigint"]


def test_values_and_nulls() -> None:
    rows = [
        ("h1", None, date(2023, 6, 19), Decimal("35.00"), True, 7),
        ("h2", "t1", None, None, False, None),
        ("h3", "t1", date(999, 1, 2), Decimal("1E+2"), None, -1),
    ]
    assert copy_text(rows, KINDS) == (
        b"h1\t\\N\t2023-06-19\t35.00\tt\t7\n"
        b"h2\tt1\t\\N\t\\N\tf\t\\N\n"
        b"h3\tt1\t0999-01-02\t1E+2\t\\N\t-1\n"
    )
    assert copy_text([], KINDS) == b""


@pytest.mark.parametrize("text", ["a\tb", "a\nb", "a\\b", "a\rb", "\\N"])
def test_a_value_needing_an_escape_refuses_the_rows(text: str) -> None:
    rows = [("h1", "t1", None, None, None, None), ("h2", text, None, None, None, None)]
    assert copy_text(rows, KINDS) is None
    assert copy_text([("h1", "", None, None, None, None)], KINDS) == b"h1\t\t\\N\t\\N\t\\N\t\\N\n"


def test_only_known_kinds() -> None:
    assert {k for kinds in TEXT_KINDS.values() for k in kinds} <= {
        "text",
        "date",
        "numeric",
        "bigint",
        "boolean",
    }
    with pytest.raises(ValueError, match="jsonb"):
        copy_text([("{}",)], ["jsonb"])
