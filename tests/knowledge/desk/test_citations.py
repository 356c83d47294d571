"""The cited draft: passages of the entries above the threshold, each with its reference."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge.desk import citations
from knowledge.retrieval.search import Passage, SearchHit
from knowledge.store.models import KnowledgeEntry

LONG = ("Le bail se poursuit. " * 3 + "\n\nLa régularisation peut être étalée sur 12 mois. "
        "Le locataire le demande par écrit.\n\nFin de la fiche.")


def _entry(session: Session, answer: str, legal: list[str]) -> KnowledgeEntry:
    entry = KnowledgeEntry(question="Question ?", answer=answer, tags=[],
                           legal_references=legal,
                           question_hash=f"h{len(answer)}{len(legal)}{answer[:20]}")
    session.add(entry)
    session.flush()
    return entry


def _hit(entry: KnowledgeEntry, score: float, start: int, end: int,
         source: str | None = None) -> SearchHit:
    passage = Passage(position=1, start=start, end=end, text=entry.answer[start:end], score=0.8)
    return SearchHit(entry_id=entry.id, external_id=None, question=entry.question,
                     answer=entry.answer, score=score, theme=None, source=source,
                     passage=passage)


def test_citations_keep_the_entries_above_the_threshold_with_their_references(
        session: Session) -> None:
    first = _entry(session, LONG, ["Art. 23 de la loi du 6 juillet 1989"])
    second = _entry(session, "Le dépôt de garantie est rendu sous un mois.", [])
    below = _entry(session, "Sans rapport.", [])
    start = LONG.index("La régularisation")
    hits = [_hit(first, 0.86, start, LONG.index("\n\nFin")),
            _hit(second, 0.82, 0, len(second.answer), source="https://example.fr/dg"),
            _hit(below, 0.70, 0, len(below.answer))]
    found = citations.citations(session=session, hits=hits, threshold=0.81)
    assert [citation.entry_id for citation in found] == [first.id, second.id]
    assert found[0].text == ("… La régularisation peut être étalée sur 12 mois. Le locataire le "
                             "demande par écrit. …")
    assert found[0].reference == f"fiche n° {first.id} · Art. 23 de la loi du 6 juillet 1989"
    assert found[1].reference == f"fiche n° {second.id} · https://example.fr/dg"
    draft = citations.cited_draft(found)
    assert draft == (f"« {found[0].text} »\n(fiche n° {first.id} · Art. 23 de la loi du "
                     f"6 juillet 1989)\n\n« Le dépôt de garantie est rendu sous un mois. »\n"
                     f"(fiche n° {second.id} · https://example.fr/dg)")


def test_nothing_is_cited_when_nothing_passes_the_threshold(session: Session) -> None:
    entry = _entry(session, "Sans rapport.", [])
    assert citations.citations(session=session, hits=[_hit(entry, 0.5, 0, 13)],
                               threshold=0.81) == []
    assert citations.cited_draft([]) == ""


def test_the_adviser_s_order_and_removals_are_kept(session: Session) -> None:
    found = [citations.Citation(entry_id=number, text=f"p{number}", reference=f"fiche n° {number}")
             for number in (3, 5, 9)]
    kept = citations.in_order(found, ["9", "3", "42", "9"])
    assert [citation.entry_id for citation in kept] == [9, 3]
