"""Approving with publication refuses personal data unless the adviser confirms it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import privacy
from knowledge.catalog import entries
from knowledge.desk import review
from knowledge.errors import Conflict
from knowledge.people import advisers
from knowledge.runtime import Knowledge
from knowledge.store.models import (
    Asker,
    AuditEvent,
    KnowledgeEntry,
    Outbox,
    Ticket,
    User,
    UserRole,
)
from knowledge.timeutil import utcnow

QUESTION = ("Mme B., locataire au 3e, 4 enfants, dette de 2 300 €, n° allocataire 1234567 : "
            "peut-on demander le maintien de l'APL ?")
ANSWER = "Oui : saisissez la CAF dans les deux mois qui suivent le constat de l'impayé."


def _adviser(session: Session) -> User:
    return advisers.create(session=session, login="camille", password="un mot de passe solide",
                           role=UserRole.ADMIN, actor="test")


def _ticket(session: Session, text: str = QUESTION) -> Ticket:
    asker = Asker(chat_id=42, full_name="Demandeur", status="approved", created_at=utcnow())
    session.add(asker)
    session.flush()
    created = utcnow() - timedelta(days=1)
    ticket = Ticket(text=text, status="new", asker_id=asker.id, suggested_entry_ids=[],
                    created_at=created, updated_at=created)
    session.add(ticket)
    session.flush()
    return ticket


def test_publishing_the_askers_words_is_refused_with_the_findings(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    with pytest.raises(privacy.PersonalDataFound) as caught:
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=review.Approval(answer=ANSWER,
                                                publication=review.Publication.NEW))
    assert isinstance(caught.value, Conflict)  # the JSON API maps Conflict to 409
    assert [(f.kind, f.text) for f in caught.value.findings] == [
        ("person", "Mme B."), ("allocataire", "1234567")]
    assert "nom de personne (1)" in str(caught.value)
    # The service raised before writing anything: no entry, no message for the asker.
    assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 0
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_answer_sent_only_to_the_asker_is_not_blocked(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                   approval=review.Approval(answer="Mme B. peut garder son APL."))
    assert ticket.status == "answered"
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "privacy.confirm")) == 0


def test_revision_of_an_entry_with_a_phone_number_needs_confirmation(
        session: Session) -> None:
    adviser = _adviser(session)
    entry = entries.create(session=session, actor="test", content=entries.EntryFields(
        question="Quand le SLS s'applique-t-il ?", answer="Au-delà de 20 % des plafonds."))
    ticket = _ticket(session, text="Le SLS s'applique-t-il à 25 % de dépassement ?")
    approval = review.Approval(answer="Oui. Appelez Mme Lopez au 06 12 34 56 78.",
                               publication=review.Publication.UPDATE, entry_id=entry.id)
    with pytest.raises(privacy.PersonalDataFound):
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=approval)
    assert entry.revision == 1 and entry.answer == "Au-delà de 20 % des plafonds."


def test_confirmed_publication_is_audited_with_counts_only(admin_knowledge: Knowledge) -> None:
    with admin_knowledge.session() as session:
        adviser = _adviser(session)
        ticket = _ticket(session)
        outcome = review.approve(
            session=session, ticket_id=ticket.id, adviser=adviser,
            embedder=admin_knowledge.embedder,
            approval=review.Approval(answer=ANSWER, publication=review.Publication.NEW,
                                     confirm_personal_data=True))
        ticket_id = ticket.id
    with admin_knowledge.session() as session:
        assert session.get(KnowledgeEntry, outcome.entry_id) is not None
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.confirm")).one()
        assert event.object_type == "ticket" and event.object_id == str(ticket_id)
        assert event.details["personal_data"] == {"person": 1, "allocataire": 1}
        logged = json.dumps(event.details, ensure_ascii=False)
        assert "1234567" not in logged and "Mme B." not in logged
