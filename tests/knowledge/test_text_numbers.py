"""Row numbers typed by users: only short ASCII digits name a row."""

from __future__ import annotations

import pytest

from knowledge.errors import InvalidInput
from knowledge.people.organisations import parse_departement
from knowledge.text import row_number


@pytest.mark.parametrize(("typed", "expected"), [
    ("12", 12), (" 7 ", 7), ("2147483647", 2147483647),
    ("2147483648", None), ("0", None), ("-1", None), ("²", None), ("١٢", None),
    ("9" * 5000, None), ("", None), (None, None), ("1e3", None), ("12a", None),
])
def test_row_number_reads_only_short_ascii_digits(typed: str | None,
                                                  expected: int | None) -> None:
    assert row_number(typed) == expected


@pytest.mark.parametrize("typed", ["²", "0²", "١٣"])
def test_departement_with_unicode_digits_is_refused_in_french(typed: str) -> None:
    with pytest.raises(InvalidInput, match="département invalide"):
        parse_departement(typed)
