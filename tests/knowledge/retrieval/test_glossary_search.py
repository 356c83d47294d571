"""The glossary in the search (real e5 embedder): where it acts, and edits taking effect."""

from __future__ import annotations

from sqlalchemy import delete

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.retrieval import glossary, search
from knowledge.runtime import Knowledge
from knowledge.store.vocabulary import GlossaryTerm

SLS_Q = "Qui doit payer le supplément de loyer de solidarité ?"
SLS_A = ("Le supplément de loyer de solidarité est dû par le locataire d'un logement social dont "
         "les ressources dépassent de plus de 20 % les plafonds de ressources.")
QUERY = "surloyer : nos locataires doivent-ils le payer ?"


def score_of(knowledge: Knowledge, entry_id: int, text: str) -> float:
    hits = knowledge.similar(text, k=5, min_score=-1.0).hits
    return next(hit.score for hit in hits if hit.entry_id == entry_id)


def test_glossary_acts_on_the_lexical_signal_and_the_embedded_query(
        knowledge: Knowledge) -> None:
    with knowledge.session() as session:
        session.execute(delete(GlossaryTerm))
        entry = entries.create(session=session, actor="test", embedder=knowledge.embedder,
                               content=EntryFields(question=SLS_Q, answer=SLS_A))
        entries.create(session=session, actor="test", embedder=knowledge.embedder,
                       content=EntryFields(question="Comment donner congé de son logement ?",
                                           answer="Le locataire envoie son préavis par lettre "
                                                  "recommandée."))
    without = score_of(knowledge, entry.id, QUERY)
    with knowledge.session() as session:
        term = glossary.create_term(session=session, actor="test", record=glossary.checked(
            term="surloyer", synonyms=["supplément de loyer de solidarité", "SLS"]))
        term_id = term.id
    # The edit counts at the next search of the process, with no index rebuild.
    expansion = knowledge.expand(QUERY)
    assert [match.text for match in expansion.matches] == ["surloyer"]
    assert search.dense_query(expansion) == f"{QUERY} (supplément de loyer de solidarité)"
    with_glossary = score_of(knowledge, entry.id, QUERY)
    assert with_glossary > without + 0.02
    with knowledge.session() as session:
        glossary.delete_term(session=session, term_id=term_id, actor="test")
    assert score_of(knowledge, entry.id, QUERY) == without
