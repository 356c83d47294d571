"""The cited draft: the best passages of the entries that pass the threshold, with references.

When no suggestion answers the question outright, the adviser is offered the passages that do
bear on it, each followed by where it comes from (« fiche n° 123 », its source, its legal
references), in an order the adviser can change before editing and sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.retrieval import passages
from knowledge.retrieval.search import SearchHit
from knowledge.store.models import KnowledgeEntry

# Citations offered at most: beyond, the draft is a reading list, not an answer.
MAX_CITATIONS = 3


@dataclass(frozen=True)
class Citation:
    """One passage of an entry with the reference that follows it in the draft."""

    entry_id: int
    text: str
    reference: str

    @property
    def block(self) -> str:
        """The citation as it stands in the draft: the passage, then its reference."""
        return f"« {self.text} »\n({self.reference})"


def reference_of(*, entry_id: int, source: str | None, legal_references: Sequence[str]) -> str:
    """Where a passage comes from: the entry's number, its source and its legal references."""
    parts = [f"fiche n° {entry_id}"]
    if source and source.strip():
        parts.append(source.strip())
    parts.extend(reference.strip() for reference in legal_references if reference.strip())
    return " · ".join(parts)


def citations(*, session: Session, hits: Sequence[SearchHit], threshold: float,
              limit: int = MAX_CITATIONS) -> list[Citation]:
    """The citations of the hits above the threshold that have a passage, best first."""
    chosen = [hit for hit in hits if hit.score >= threshold and hit.passage is not None][:limit]
    if not chosen:
        return []
    legal = {row.id: row.legal_references for row in session.execute(
        select(KnowledgeEntry.id, KnowledgeEntry.legal_references)
        .where(KnowledgeEntry.id.in_([hit.entry_id for hit in chosen])))}
    found = []
    for hit in chosen:
        if hit.passage is None:
            continue
        text = passages.shown_excerpt(hit.passage, hit.answer, passages.SHOWN_LIMIT)
        found.append(Citation(entry_id=hit.entry_id, text=text, reference=reference_of(
            entry_id=hit.entry_id, source=hit.source,
            legal_references=legal.get(hit.entry_id) or [])))
    return found


def cited_draft(chosen: Sequence[Citation]) -> str:
    """The draft made of these citations, in this order (empty without any)."""
    return "\n\n".join(citation.block for citation in chosen)


def in_order(available: Sequence[Citation], wanted: Sequence[str]) -> list[Citation]:
    """The available citations the adviser kept, in the order given (unknown ids ignored)."""
    by_id = {str(citation.entry_id): citation for citation in available}
    seen: set[str] = set()
    kept = []
    for entry_id in wanted:
        if entry_id in by_id and entry_id not in seen:
            seen.add(entry_id)
            kept.append(by_id[entry_id])
    return kept
