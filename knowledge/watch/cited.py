"""What the knowledge base cites: the references of the active entries' reference fields."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.text import fold
from knowledge.watch.ranges import RangeSet
from knowledge.watch.references import LegalReference, TextNames, parse_reference_field


@dataclass(frozen=True)
class Citation:
    """One reference of one entry, with the day the entry was last verified."""

    entry_id: int
    reference: LegalReference
    verified_on: date


@dataclass
class CitedTexts:
    """The articles and texts cited, in the shapes the importer matches LEGI files with."""

    articles: set[tuple[str, str]] = field(default_factory=set)  # (text cid, article number)
    ranges: list[LegalReference] = field(default_factory=list)
    text_cids: set[str] = field(default_factory=set)
    text_numbers: set[tuple[str, str]] = field(default_factory=set)  # (nature, number)
    # Articles of texts known by number only: the cid is learnt from the text's versions.
    articles_by_number: set[tuple[str, str, str]] = field(default_factory=set)

    range_set: RangeSet = field(default_factory=lambda: RangeSet(()))

    def wants_article(self, cid: str, num: str) -> bool:
        """Tell whether an article of a LEGI file is cited (exactly or inside a range)."""
        return (cid, num) in self.articles or self.range_set.holds(cid, num)

    def wants_text(self, cid: str, nature: str | None, num: str | None) -> bool:
        """Tell whether a text version of a LEGI file is cited (by cid or by number)."""
        return cid in self.text_cids or (
            nature is not None and num is not None
            and (fold(nature), num) in self.text_numbers)


def verified_on(entry: KnowledgeEntry) -> date:
    """The day the entry was last checked: its verification or its last revision."""
    moments = [moment for moment in (entry.reviewed_at, entry.updated_at, entry.created_at)
               if moment is not None]
    return max(moments).date()


# The same items come back in many entries and at every refresh: each is read once per
# set of usual names (a new set, from an edited file, starts afresh).
_READ: WeakKeyDictionary[TextNames, dict[str, tuple[LegalReference, ...]]] = WeakKeyDictionary()


def field_references(item: str, *, names: TextNames) -> tuple[LegalReference, ...]:
    """The references of one reference-field item (cached per set of usual names)."""
    known = _READ.setdefault(names, {})
    found = known.get(item)
    if found is None:
        found = known[item] = tuple(parse_reference_field(item, names=names))
    return found


def entry_citations(entry: KnowledgeEntry, *, names: TextNames) -> list[Citation]:
    """The references an entry's reference field names (unrecognised items give none)."""
    found: dict[str, LegalReference] = {}
    for item in entry.legal_references or []:
        for reference in field_references(item, names=names):
            found.setdefault(reference.label, reference)
    day = verified_on(entry)
    return [Citation(entry_id=entry.id, reference=reference, verified_on=day)
            for reference in found.values()]


def citations(*, session: Session, names: TextNames,
              entry_ids: Collection[int] | None = None) -> list[Citation]:
    """Every reference of the active entries (or of some of them)."""
    query = select(KnowledgeEntry).where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
    if entry_ids is not None:
        query = query.where(KnowledgeEntry.id.in_(list(entry_ids)))
    result: list[Citation] = []
    for entry in session.scalars(query.order_by(KnowledgeEntry.id)):
        result.extend(entry_citations(entry, names=names))
    return result


def cited_texts(found: Iterable[Citation]) -> CitedTexts:
    """Group citations by what a LEGI file is matched on."""
    cited = CitedTexts()
    seen_ranges: set[str] = set()
    for citation in found:
        reference = citation.reference
        if reference.kind == "article" and reference.article is not None:
            if reference.code is not None and reference.cid is not None:
                if reference.article_end is not None and reference.label not in seen_ranges:
                    seen_ranges.add(reference.label)
                    cited.ranges.append(reference)
                cited.articles.add((reference.cid, reference.article))
            elif reference.cid is not None:
                cited.articles.add((reference.cid, reference.article))
            elif reference.nature is not None and reference.number is not None:
                cited.articles_by_number.add(
                    (fold(reference.nature), reference.number, reference.article))
        if reference.code is None:
            if reference.cid is not None:
                cited.text_cids.add(reference.cid)
            if reference.nature is not None and reference.number is not None:
                cited.text_numbers.add((fold(reference.nature), reference.number))
    cited.range_set = RangeSet(cited.ranges)
    return cited
