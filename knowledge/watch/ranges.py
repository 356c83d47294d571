"""Ranges of articles (« CCH art. L441-1 à L441-2-9 ») looked up by bisection, not by scan.

A knowledge base cites hundreds of ranges and a code holds thousands of articles: comparing
each article with each range made an import and a refresh grow as their product.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from knowledge.watch.references import LegalReference, article_number

Order = tuple[Any, ...]


def _bounds(reference: LegalReference) -> tuple[str, str, Order, Order] | None:
    """(cid, prefix, first, last) of a range reference, None when it is not a range."""
    if reference.kind != "article" or reference.cid is None or reference.article is None \
            or reference.article_end is None:
        return None
    first, last = article_number(reference.article), article_number(reference.article_end)
    if first is None or last is None or first.prefix != last.prefix:
        return None
    return reference.cid, first.prefix, tuple(first.order), tuple(last.order)


class RangeSet:
    """The ranges cited, merged per code and prefix, to tell if an article lies in one."""

    def __init__(self, references: Iterable[LegalReference]) -> None:
        spans: dict[tuple[str, str], list[tuple[Order, Order]]] = defaultdict(list)
        for reference in references:
            bounds = _bounds(reference)
            if bounds is not None:
                cid, prefix, first, last = bounds
                spans[(cid, prefix)].append((first, last))
        self._starts: dict[tuple[str, str], list[Order]] = {}
        self._ends: dict[tuple[str, str], list[Order]] = {}
        for key, found in spans.items():
            merged: list[list[Order]] = []
            for first, last in sorted(found):
                if merged and first <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], last)
                else:
                    merged.append([first, last])
            self._starts[key] = [span[0] for span in merged]
            self._ends[key] = [span[1] for span in merged]

    def __bool__(self) -> bool:
        return bool(self._starts)

    def holds(self, cid: str, num: str) -> bool:
        """Tell whether the article `num` of `cid` lies inside a cited range."""
        number = article_number(num)
        if number is None:
            return False
        key = (cid, number.prefix)
        starts = self._starts.get(key)
        if not starts:
            return False
        order = tuple(number.order)
        index = bisect_right(starts, order) - 1
        return index >= 0 and order <= self._ends[key][index]


class ArticleIndex:
    """Kept article numbers of each code, sorted per prefix, for the articles of a range."""

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        rows: dict[tuple[str, str], list[tuple[Order, str]]] = defaultdict(list)
        for cid, num in keys:
            number = article_number(num)
            if number is not None:
                rows[(cid, number.prefix)].append((tuple(number.order), num))
        self._orders: dict[tuple[str, str], list[Order]] = {}
        self._nums: dict[tuple[str, str], list[str]] = {}
        for key, found in rows.items():
            found.sort()
            self._orders[key] = [order for order, _ in found]
            self._nums[key] = [num for _, num in found]

    def inside(self, reference: LegalReference) -> list[str]:
        """The kept numbers a range reference holds, in order."""
        bounds = _bounds(reference)
        if bounds is None:
            return []
        cid, prefix, first, last = bounds
        orders = self._orders.get((cid, prefix), [])
        low, high = bisect_left(orders, first), bisect_right(orders, last)
        return self._nums[(cid, prefix)][low:high]
