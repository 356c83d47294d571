from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.errors import Conflict, InvalidInput
from knowledge.store.models import EntryStatus


def test_update_writes_a_revision_with_its_own_author_and_reason(session: Session) -> None:
    entry = entries.create(session=session, content=EntryFields(
        question="Qui paie la TEOM ?", answer="Le locataire.", external_id="X1"), actor="test")
    entries.update(session=session, entry_id=entry.id, content=EntryFields(
        question="Qui paie la TEOM ?", answer="Le locataire, via les charges.",
        external_id="X1", review_by=entry.review_by), actor="alice", reason="précision")
    session.commit()
    history = entries.revisions(session=session, entry_id=entry.id)
    assert entry.revision == 2
    assert [(r.revision, r.answer, r.actor, r.reason) for r in history] == [
        (1, "Le locataire.", "test", None),
        (2, "Le locataire, via les charges.", "alice", "précision")]


def test_update_with_same_content_writes_no_revision(session: Session) -> None:
    entry = entries.create(session=session, content=EntryFields(question="Q ?", answer="R."),
                           actor="test")
    entries.update(session=session, entry_id=entry.id,
                   content=EntryFields(question=" Q ? ", answer="R.", review_by=entry.review_by),
                   actor="test")
    assert entry.revision == 1
    assert [r.revision for r in entries.revisions(session=session, entry_id=entry.id)] == [1]


def test_retire_then_reinstate(session: Session) -> None:
    entry = entries.create(session=session, content=EntryFields(question="Q ?", answer="R."),
                           actor="test")
    entries.retire(session=session, entry_id=entry.id, actor="test", reason="loi modifiée")
    assert entry.status == EntryStatus.RETIRED
    with pytest.raises(Conflict):
        entries.retire(session=session, entry_id=entry.id, actor="test")
    entries.reinstate(session=session, entry_id=entry.id, actor="test")
    assert entry.status == EntryStatus.ACTIVE
    assert entries.count_entries(session=session) == 1


def test_empty_question_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput):
        entries.create(session=session, content=EntryFields(question=" \x00 ", answer="R."),
                       actor="test")


def test_duplicate_external_id_is_refused(session: Session) -> None:
    entries.create(session=session, content=EntryFields(question="A ?", answer="R.",
                                                        external_id="F1"), actor="test")
    with pytest.raises(Conflict):
        entries.create(session=session, content=EntryFields(question="B ?", answer="R.",
                                                            external_id="F1"), actor="test")
