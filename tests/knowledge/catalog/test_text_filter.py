"""The text filter of the entry list ignores case and accents, and takes % and _ literally."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields, EntryFilter


def _found(session: Session, text: str) -> list[str]:
    return [e.question for e in entries.list_entries(session=session,
                                                     criteria=EntryFilter(text=text))]


def test_search_folds_accents_and_case(session: Session) -> None:
    for question, answer in (("Quel préavis en zone tendue ?", "Un mois."),
                             ("Qui paie l'ÉLECTRICITÉ des parties communes ?", "Le bailleur."),
                             ("Quelle caution ?", "Pas de dépôt de garantie en HLM.")):
        entries.create(session=session, actor="test",
                       content=EntryFields(question=question, answer=answer))
    session.commit()
    assert _found(session, "PREAVIS") == ["Quel préavis en zone tendue ?"]
    assert _found(session, "électricité") == ["Qui paie l'ÉLECTRICITÉ des parties communes ?"]
    assert _found(session, "Electricite") == ["Qui paie l'ÉLECTRICITÉ des parties communes ?"]
    assert _found(session, "depot de GARANTIE") == ["Quelle caution ?"]
    assert _found(session, "zone   tendue") == ["Quel préavis en zone tendue ?"]


def test_percent_and_underscore_are_literal(session: Session) -> None:
    for question, answer in (("Hausse de loyer ?", "Au plus 3,5 % par an."),
                             ("Code du champ ?", "Le champ revenu_fiscal."),
                             ("Sans signe ?", "Rien de spécial.")):
        entries.create(session=session, actor="test",
                       content=EntryFields(question=question, answer=answer))
    session.commit()
    assert _found(session, "%") == ["Hausse de loyer ?"]
    assert _found(session, "_") == ["Code du champ ?"]
    assert _found(session, "revenu_fiscal") == ["Code du champ ?"]
    assert _found(session, "revenu%fiscal") == []
    assert entries.count_entries(session=session, criteria=EntryFilter(text="%")) == 1
