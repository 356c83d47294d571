"""The managed themes: seeded list, canonical spellings, filters ignoring case and accents,
rename and merge keep every entry."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.catalog import entries, themes
from knowledge.catalog.entries import EntryFields, EntryFilter
from knowledge.errors import Conflict
from knowledge.store.models import Ticket
from knowledge.timeutil import utcnow


def _entry(session: Session, question: str, theme: str | None) -> int:
    return entries.create(session=session, actor="test", content=EntryFields(
        question=question, answer="R.", theme=theme)).id


def _listed(session: Session, theme: str) -> list[int]:
    return [e.id for e in entries.list_entries(session=session,
                                               criteria=EntryFilter(theme=theme))]


def test_seed_adds_the_associations_areas_once(session: Session) -> None:
    themes.seed(session=session)
    assert themes.seed(session=session) == 0
    names = [t.name for t in themes.list_themes(session=session)]
    assert "Fiscalité (TFPB)" in names and "Copropriété" in names
    assert len(names) == len(themes.DEFAULT_THEMES)


def test_theme_filter_ignores_case_and_accents(session: Session) -> None:
    themes.seed(session=session)
    first = _entry(session, "Copro ?", "copropriete")
    second = _entry(session, "Syndic ?", "COPROPRIÉTÉ")
    other = _entry(session, "TFPB ?", "Fiscalité (TFPB)")
    # Every spelling is filed under the managed name.
    assert {entries.get(session=session, entry_id=i).theme for i in (first, second)} == {
        "Copropriété"}
    assert _listed(session, "copropriété") == [first, second]
    assert _listed(session, "COPROPRIETE") == [first, second]
    assert _listed(session, "fiscalite (tfpb)") == [other]
    assert _listed(session, "inconnu") == []


def test_rename_keeps_entries_and_tickets(session: Session) -> None:
    theme = themes.add(session=session, name="Logement", actor="test")
    ids = [_entry(session, f"Question {n} ?", "Logement") for n in range(3)]
    session.add(Ticket(text="Q ?", theme="Logement", suggested_entry_ids=[],
                       created_at=utcnow(), updated_at=utcnow()))
    session.flush()
    themes.rename(session=session, theme_id=theme.id, name="Accès et maintien",
                  actor="test")
    session.commit()
    assert _listed(session, "acces et maintien") == ids
    assert _listed(session, "logement") == []
    assert session.query(Ticket).one().theme == "Accès et maintien"
    assert all(entries.get(session=session, entry_id=i).revision == 1 for i in ids)


def test_merge_moves_every_entry_and_drops_the_source(session: Session) -> None:
    themes.seed(session=session)
    source = themes.add(session=session, name="Charges", actor="test")
    target = themes.find(session=session, name="gestion locative et charges")
    assert target is not None
    moved = [_entry(session, f"Charge {n} ?", "charges") for n in range(2)]
    kept = _entry(session, "Régularisation ?", "Gestion locative et charges")
    assert themes.merge(session=session, source_id=source.id, target_id=target.id,
                        actor="test") == 2
    session.commit()
    assert _listed(session, "Gestion locative et charges") == [*moved, kept]
    assert themes.find(session=session, name="Charges") is None
    assert entries.count_entries(session=session) == 3


def test_rename_onto_an_existing_theme_is_refused(session: Session) -> None:
    themes.seed(session=session)
    extra = themes.add(session=session, name="Divers", actor="test")
    with pytest.raises(Conflict):
        themes.rename(session=session, theme_id=extra.id, name="copropriete", actor="test")
    with pytest.raises(Conflict):
        themes.add(session=session, name="VENTE HLM", actor="test")
