"""Ranges looked up by bisection give the same answers as reading each range."""

from __future__ import annotations

import random

from knowledge.watch.ranges import ArticleIndex, RangeSet
from knowledge.watch.references import LegalReference, load_text_names, parse_reference_field

CCH = "LEGITEXT000006074096"


def _range(text: str) -> LegalReference:
    [reference] = parse_reference_field(text, names=load_text_names())
    return reference


def test_merged_ranges_hold_what_each_range_covers() -> None:
    ranges = [_range(text) for text in ("CCH art. L441-1 à L441-2-9", "CCH art. L441-2 à L441-4",
                                        "CCH art. R441-1 à R441-3", "CCH art. L353-15 à L353-17")]
    found = RangeSet(ranges)
    rng = random.Random(7)
    numbers = [f"{prefix}{chapter}-{article}" + (f"-{sub}" if sub else "")
               for prefix in ("L", "R", "D") for chapter in (353, 441, 442)
               for article in range(1, 12) for sub in (0, 1, 9)]
    rng.shuffle(numbers)
    for num in numbers:
        expected = any(reference.covers(CCH, num) for reference in ranges)
        assert found.holds(CCH, num) is expected, num
    assert not found.holds("LEGITEXT000006069577", "L441-1")  # another code
    assert not RangeSet([])


def test_the_index_returns_the_kept_articles_of_a_range_in_order() -> None:
    index = ArticleIndex([(CCH, "L441-3"), (CCH, "L441-1"), (CCH, "L441-2-1"), (CCH, "R441-2"),
                          (CCH, "L441-10"), (CCH, "L441-2")])
    assert index.inside(_range("CCH art. L441-1 à L441-3")) == [
        "L441-1", "L441-2", "L441-2-1", "L441-3"]
    assert index.inside(_range("CCH art. L441-1")) == []  # not a range
