"""Numbers written for users agree with their words in French."""

from __future__ import annotations

import pytest

from knowledge.text import count_of


@pytest.mark.parametrize(("number", "expected"), [
    (0, "0 question reçue"), (1, "1 question reçue"), (2, "2 questions reçues"),
    (158, "158 questions reçues"), (1_234, "1\u202f234 questions reçues"),
])
def test_zero_and_one_take_the_singular(number: int, expected: str) -> None:
    assert count_of(number, "question reçue", "questions reçues") == expected
