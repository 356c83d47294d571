"""The sector glossary: shipped default, CRUD, import/export round trip, query matching."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.retrieval import glossary
from knowledge.retrieval.expansion import GlossaryMatcher
from knowledge.retrieval.search import FrenchAnalyzer, concept_scores, lexical_scores
from knowledge.store import migrate
from knowledge.store.db import make_engine
from knowledge.store.vocabulary import GlossaryTerm

REQUIRED = ("APL", "RLS", "CALEOL", "PLAI", "PLUS", "PLS", "NPNRU", "QPV", "CUS", "GUL", "SLS",
            "TFPB", "DPE", "HLM", "dette locative")


def record(term: str, *synonyms: str, note: str | None = None) -> glossary.GlossaryRecord:
    return glossary.checked(term=term, synonyms=synonyms, note=note)


def test_default_glossary_has_the_sector_terms() -> None:
    records = glossary.default_records()
    assert len(records) >= 150
    keys = {glossary.term_key(item.term) for item in records}
    assert {glossary.term_key(term) for term in REQUIRED} <= keys


def test_a_new_database_starts_with_the_shipped_glossary(empty_database_url: str) -> None:
    engine: Engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(GlossaryTerm))
            caleol = session.scalars(select(GlossaryTerm)
                                     .where(GlossaryTerm.term_key == "caleol")).one()
        assert count == len(glossary.default_records())
        assert "commission d'attribution" in glossary.synonyms_of(caleol)
    finally:
        engine.dispose()


def test_create_edit_and_delete_a_term(session: Session) -> None:
    row = glossary.create_term(session=session, record=record("ZZA", "zone zéro abc"),
                               actor="test")
    session.commit()
    with pytest.raises(Conflict):
        glossary.create_term(session=session, record=record("zza", "autre chose"), actor="test")
    session.rollback()
    glossary.update_term(session=session, term_id=row.id,
                         record=record("ZZA", "zone zéro abc", "zone à bâtir", note="essai"),
                         actor="test")
    session.commit()
    stored = glossary.get_term(session=session, term_id=row.id)
    assert glossary.synonyms_of(stored) == ("zone zéro abc", "zone à bâtir")
    assert stored.note == "essai"
    glossary.delete_term(session=session, term_id=row.id, actor="test")
    session.commit()
    with pytest.raises(NotFound):
        glossary.get_term(session=session, term_id=row.id)


def test_a_term_without_equivalent_is_refused() -> None:
    with pytest.raises(InvalidInput, match="aucun équivalent"):
        glossary.checked(term="APL", synonyms=["apl", " "])


def test_export_then_import_into_another_base_gives_the_same_glossary(
        session: Session) -> None:
    for term in list(glossary.list_terms(session=session)):
        session.delete(term)
    glossary.import_records(session=session, actor="test", records=[
        record("SLS", "supplément de loyer de solidarité", "surloyer", note="Dû au-delà des "
               "plafonds."),
        record("CALEOL", "commission d'attribution"),
    ])
    session.commit()
    exported = glossary.export_lines(session=session)
    parsed = glossary.parse_jsonl(lines=exported)
    for term in list(glossary.list_terms(session=session)):
        session.delete(term)
    session.commit()
    report = glossary.import_records(session=session, records=parsed, actor="test")
    session.commit()
    assert (report.created, report.updated) == (2, 0)
    assert glossary.export_lines(session=session) == exported
    again = glossary.import_records(session=session, records=parsed, actor="test")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_import_names_the_bad_line() -> None:
    with pytest.raises(InvalidInput, match="ligne 2"):
        glossary.parse_jsonl(lines=['{"term": "APL", "synonyms": ["aide au logement"]}',
                                    '{"term": "RLS", "synonyms": "pas une liste"}'])


def test_a_query_term_matches_every_equivalent_form() -> None:
    analyzer = FrenchAnalyzer()
    matcher = GlossaryMatcher([record("SLS", "supplément de loyer de solidarité", "surloyer")],
                              analyzer)
    expansion = matcher.expand("Nos locataires paient-ils le surloyer ?")
    assert [match.text for match in expansion.matches] == ["surloyer"]
    assert "supplément de loyer de solidarité" in expansion.expanded_text
    documents = [analyzer.terms("Le supplément de loyer de solidarité est dû par le ménage."),
                 analyzer.terms("Le chien du voisin aboie la nuit.")]
    # Without the glossary the word is found in neither text; with it, the first one matches.
    assert lexical_scores(analyzer.tokens(expansion.query), documents)[0] < 0.01
    with_glossary = concept_scores(expansion.concepts, documents)
    assert with_glossary[0] > 0.1
    assert with_glossary[1] < 0.01


def test_without_glossary_match_the_lexical_signal_is_unchanged() -> None:
    analyzer = FrenchAnalyzer()
    matcher = GlossaryMatcher([record("SLS", "surloyer")], analyzer)
    query = "préavis du locataire par courriel"
    documents = [analyzer.terms("Le préavis peut être envoyé par courriel."),
                 analyzer.terms("Un locataire HLM.")]
    assert concept_scores(matcher.expand(query).concepts, documents) == pytest.approx(
        lexical_scores(analyzer.tokens(query), documents))


def test_the_shipped_file_is_what_an_export_would_write() -> None:
    # The migration loads the file as it is: it must already be in the cleaned form, or a
    # later import of an export would report changes nobody made.
    lines = glossary.DEFAULT_FILE.read_text(encoding="utf-8").splitlines()
    assert lines == [json.dumps(item.as_json(), ensure_ascii=False)
                     for item in glossary.default_records()]
