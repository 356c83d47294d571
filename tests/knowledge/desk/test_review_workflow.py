"""The review workflow services: queue ages, allowed transitions, one-unit approval."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.desk import review
from knowledge.errors import Conflict, Forbidden, InvalidInput
from knowledge.people import advisers
from knowledge.runtime import Knowledge
from knowledge.store.models import (
    Asker,
    KnowledgeEntry,
    Outbox,
    Ticket,
    TicketMessage,
    User,
    UserRole,
)
from knowledge.timeutil import utcnow


def _adviser(session: Session, login: str = "camille", role: UserRole = UserRole.ADVISER
             ) -> User:
    return advisers.create(session=session, login=login, password="un mot de passe solide",
                           role=role, actor="test")


def _ticket(session: Session, *, status: str = "new", age_days: int = 0,
            assigned_to_id: int | None = None, chat_id: int | None = 42) -> Ticket:
    asker = Asker(telegram_user_id=None, chat_id=chat_id, full_name="Demandeur",
                  status="approved", created_at=utcnow())
    session.add(asker)
    session.flush()
    created = utcnow() - timedelta(days=age_days)
    ticket = Ticket(text="Le SLS s'applique-t-il ?", status=status, asker_id=asker.id,
                    assigned_to_id=assigned_to_id, suggested_entry_ids=[], created_at=created,
                    updated_at=created)
    session.add(ticket)
    session.flush()
    return ticket


def test_working_days_skip_weekends() -> None:
    friday = date(2026, 11, 20)
    assert review.working_days_between(friday, friday + timedelta(days=3)) == 1  # Monday
    assert review.working_days_between(friday, friday + timedelta(days=7)) == 5
    assert review.working_days_between(friday, friday) == 0


def test_queue_badges_compare_age_with_the_target_delay(session: Session) -> None:
    _ticket(session, age_days=0)
    _ticket(session, age_days=30)
    items = review.list_queue(session=session, target_days=5)
    assert [item.badge for item in items] == ["late", "ok"]  # oldest first


def test_queue_hides_closed_tickets_by_default(session: Session) -> None:
    _ticket(session, status="answered")
    _ticket(session, status="self_served")
    open_ticket = _ticket(session, status="waiting_asker")
    assert [i.ticket.id for i in review.list_queue(session=session)] == [open_ticket.id]


def test_assign_puts_a_new_ticket_in_review(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    review.assign_to_me(session=session, ticket_id=ticket.id, adviser=adviser)
    assert ticket.status == "in_review" and ticket.assigned_to_id == adviser.id


def test_clarification_needs_a_reachable_asker(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session, chat_id=None)
    with pytest.raises(Conflict, match="plus joignable"):
        review.request_clarification(session=session, ticket_id=ticket.id, adviser=adviser,
                                     message="Précisez.")


def test_waiting_ticket_cannot_be_asked_again_but_can_be_answered(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session, status="waiting_asker")
    with pytest.raises(Conflict):
        review.request_clarification(session=session, ticket_id=ticket.id, adviser=adviser,
                                     message="Encore ?")
    review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                   approval=review.Approval(answer="Voici la réponse."))
    assert ticket.status == "answered" and ticket.answered_at is not None


@pytest.mark.parametrize("status", ["answered", "self_served", "rejected"])
def test_closed_tickets_refuse_every_action(session: Session, status: str) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session, status=status)
    with pytest.raises(Conflict):
        review.assign_to_me(session=session, ticket_id=ticket.id, adviser=adviser)
    with pytest.raises(Conflict):
        review.reject(session=session, ticket_id=ticket.id, adviser=adviser, message="Non.")


def test_adviser_may_not_touch_another_advisers_ticket(session: Session) -> None:
    owner = _adviser(session, "camille")
    other = _adviser(session, "dominique")
    ticket = _ticket(session, status="in_review", assigned_to_id=owner.id)
    with pytest.raises(Forbidden):
        review.approve(session=session, ticket_id=ticket.id, adviser=other,
                       approval=review.Approval(answer="Non."))


def test_empty_answer_is_refused(session: Session) -> None:
    adviser = _adviser(session)
    ticket = _ticket(session)
    with pytest.raises(InvalidInput, match="La réponse est vide"):
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=review.Approval(answer="   "))


def test_approve_writes_ticket_entry_message_and_outbox_together(
        admin_knowledge: Knowledge) -> None:
    with admin_knowledge.session() as session:
        adviser = _adviser(session, role=UserRole.ADMIN)
        ticket = _ticket(session)
        outcome = review.approve(
            session=session, ticket_id=ticket.id, adviser=adviser,
            embedder=admin_knowledge.embedder,
            approval=review.Approval(
                answer="Le SLS s'applique au-delà de 20 % de dépassement des plafonds.",
                publication=review.Publication.NEW, question="Quand le SLS s'applique-t-il ?",
                theme="Gestion locative et charges"))
        ticket_id = ticket.id
    result = admin_knowledge.similar("dépassement des plafonds et SLS", k=1)
    with admin_knowledge.session() as session:
        answer = session.scalars(select(Outbox)).one()
        messages = session.scalar(select(func.count()).select_from(TicketMessage))
        entry = session.get(KnowledgeEntry, outcome.entry_id)
        assert entry is not None and entry.theme == "Gestion locative et charges"
    assert answer.kind == "answer" and answer.ticket_id == ticket_id and answer.chat_id == 42
    assert messages == 1
    assert result.hits[0].entry_id == outcome.entry_id
