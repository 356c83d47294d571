"""Entry history: revisions numbered in order with their own author and reason, events, diffs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.catalog import entries, history
from knowledge.catalog.entries import EntryFields
from knowledge.catalog.history import Piece
from knowledge.errors import Conflict, NotFound
from knowledge.people import advisers
from knowledge.store.models import UserRole


def _fields(entry: object, **changes: object) -> EntryFields:
    from dataclasses import replace

    return replace(EntryFields.of(entry), **changes)  # type: ignore[arg-type]


def test_revisions_are_numbered_in_order_and_status_changes_are_events(session: Session) -> None:
    advisers.create(session=session, login="camille", password="correct horse battery",
                    role=UserRole.ADVISER, display_name="Camille Durand", actor="test")
    entry = entries.create(session=session, actor="user:camille", content=EntryFields(
        question="Quel est le plafond ?", answer="30 000 euros."))
    entries.update(session=session, entry_id=entry.id, actor="user:camille",
                   reason="barème 2026", content=_fields(entry, answer="31 000 euros."))
    entries.retire(session=session, entry_id=entry.id, actor="cli", reason="loi abrogée")
    entries.reinstate(session=session, entry_id=entry.id, actor="cli", reason="erreur")
    entries.update(session=session, entry_id=entry.id, actor="demo", reason="barème 2027",
                   content=_fields(entry, answer="32 000 euros."))
    session.commit()

    assert entry.revision == 3
    items = history.history(session=session, entry_id=entry.id)
    assert [(i.label, i.actor_name, i.reason) for i in items] == [
        ("Révision 1 (création)", "Camille Durand", None),
        ("Révision 2", "Camille Durand", "barème 2026"),
        ("Retirée des suggestions", "Ligne de commande", "loi abrogée"),
        ("Rétablie", "Ligne de commande", "erreur"),
        ("Révision 3", "Données de démonstration", "barème 2027"),
    ]
    assert [(r.revision, r.answer) for r in entries.revisions(session=session,
                                                              entry_id=entry.id)] == [
        (1, "30 000 euros."), (2, "31 000 euros."), (3, "32 000 euros.")]
    assert items[1].changed == ("Réponse",) and items[1].substantive


def test_word_diff_of_known_texts() -> None:
    pieces = history.word_diff("Le plafond est de 30 000 euros par an.",
                               "Le plafond annuel est de 31 500 euros.")
    assert pieces == (
        Piece("equal", "Le plafond"), Piece("insert", " annuel"),
        Piece("equal", " est de "), Piece("delete", "30"), Piece("insert", "31"),
        Piece("equal", " "), Piece("delete", "000"), Piece("insert", "500"),
        Piece("equal", " euros"), Piece("delete", " par an"), Piece("equal", "."),
    )
    assert history.as_text(pieces) == ("Le plafond{+ annuel+} est de [-30-]{+31+} [-000-]{+500+}"
                                       " euros[- par an-].")


def test_diff_between_any_two_revisions(session: Session) -> None:
    entry = entries.create(session=session, actor="test", content=EntryFields(
        question="Qui paie la TEOM ?", answer="Le locataire.", theme="Charges"))
    entries.update(session=session, entry_id=entry.id, actor="test",
                   content=_fields(entry, answer="Le locataire, par les charges."))
    entries.update(session=session, entry_id=entry.id, actor="test",
                   content=_fields(entry, theme="Fiscalité (TFPB)"))
    found = history.diff(session=session, entry_id=entry.id, older=1, newer=3)
    changed = {f.name: history.as_text(f.pieces) for f in found.fields if f.changed}
    assert changed == {"answer": "Le locataire{+, par les charges+}.",
                       "theme": "[-Charges-]{+Fiscalité (TFPB)+}"}
    with pytest.raises(NotFound):
        history.diff(session=session, entry_id=entry.id, older=1, newer=9)


def test_restoring_an_old_revision_makes_a_new_one(session: Session) -> None:
    entry = entries.create(session=session, actor="test", content=EntryFields(
        question="Q ?", answer="Première réponse."))
    entries.update(session=session, entry_id=entry.id, actor="test",
                   content=_fields(entry, answer="Réponse erronée."))
    history.restore(session=session, entry_id=entry.id, number=1, actor="user:camille")
    assert (entry.revision, entry.answer) == (3, "Première réponse.")
    last = entries.revisions(session=session, entry_id=entry.id)[-1]
    assert (last.restored_from, last.reason) == (1, "restauration de la révision 1")
    with pytest.raises(Conflict):
        history.restore(session=session, entry_id=entry.id, number=3, actor="test")
    with pytest.raises(Conflict):  # same text as now: nothing to restore
        history.restore(session=session, entry_id=entry.id, number=1, actor="test")
