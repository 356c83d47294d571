"""Tickets from the asker's side: submit, clarify, self-serve, feedback, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from knowledge.desk import tickets
from knowledge.errors import Conflict, Forbidden, InvalidInput
from knowledge.people import askers, organisations
from knowledge.store.models import Outbox, OutboxKind, TicketStatus, User
from knowledge.timeutil import utcnow


def _asker(session: Session, user_id: int = 20) -> int:
    org = organisations.find_by_name(session=session, name="Org") or organisations.create(
        session=session, name="Org", kind=organisations.parse_kind("esh"), departement="13",
        actor="t")
    asker = askers.register_pending(session=session, telegram_user_id=user_id, chat_id=user_id,
                                    telegram_username=None, full_name="Paul Roux",
                                    email="paul@org.fr", organisation_id=org.id)
    askers.approve(session=session, asker_id=asker.id, actor="t")
    session.query(Outbox).delete()
    return asker.id


def test_submit_stores_the_question_as_the_first_thread_message(session: Session) -> None:
    ticket = tickets.submit(session=session, asker_id=_asker(session), text=" Qui\x00 paie ? ")
    assert ticket.text == "Qui paie ?" and ticket.status == TicketStatus.NEW.value
    assert [(m.author, m.text) for m in ticket.messages] == [("asker", "Qui paie ?")]


def test_submit_refuses_empty_and_too_long_questions(session: Session) -> None:
    asker_id = _asker(session)
    for text in ("", "\x00 ", "q" * 4001):
        with pytest.raises(InvalidInput):
            tickets.submit(session=session, asker_id=asker_id, text=text)


def test_submit_notifies_active_linked_advisers_only(session: Session) -> None:
    session.add_all([User(login="a", display_name="A", password_hash="x", telegram_chat_id=1),
                     User(login="b", display_name="B", password_hash="x"),
                     User(login="c", display_name="C", password_hash="x", telegram_chat_id=3,
                          active=False)])
    ticket = tickets.submit(session=session, asker_id=_asker(session), text="Question ?",
                            admin_base_url="https://svp.example.org/")
    [row] = session.query(Outbox).all()
    assert (row.kind, row.chat_id, row.ticket_id) == (OutboxKind.NOTIFICATION.value, 1,
                                                      ticket.id)
    assert f"https://svp.example.org/tickets/{ticket.id}" in row.text


def test_clarification_returns_the_ticket_to_its_adviser_or_the_queue(session: Session) -> None:
    asker_id = _asker(session)
    ticket = tickets.submit(session=session, asker_id=asker_id, text="Question ?")
    ticket.status = TicketStatus.WAITING_ASKER.value
    tickets.add_asker_message(session=session, ticket_id=ticket.id, asker_id=asker_id,
                              text="Précision.")
    assert ticket.status == TicketStatus.NEW.value
    user = User(login="z", display_name="Z", password_hash="x")
    session.add(user)
    session.flush()
    ticket.assigned_to_id = user.id
    ticket.status = TicketStatus.WAITING_ASKER.value
    tickets.add_asker_message(session=session, ticket_id=ticket.id, asker_id=asker_id,
                              text="Autre précision.")
    assert ticket.status == TicketStatus.IN_REVIEW.value
    assert [m.kind for m in ticket.messages] == ["question", "clarification", "clarification"]


def test_only_the_asker_may_act_on_their_ticket(session: Session) -> None:
    ticket = tickets.submit(session=session, asker_id=_asker(session), text="Question ?")
    other = _asker(session, 21)
    with pytest.raises(Forbidden):
        tickets.mark_self_served(session=session, ticket_id=ticket.id, asker_id=other)
    with pytest.raises(Forbidden):
        tickets.record_feedback(session=session, ticket_id=ticket.id, asker_id=other, value=1)


def test_self_served_closes_and_closed_tickets_stay_closed(session: Session) -> None:
    asker_id = _asker(session)
    ticket = tickets.submit(session=session, asker_id=asker_id, text="Question ?")
    tickets.mark_self_served(session=session, ticket_id=ticket.id, asker_id=asker_id)
    assert ticket.status == TicketStatus.SELF_SERVED.value and ticket.answered_at is not None
    ticket.status = TicketStatus.ANSWERED.value
    with pytest.raises(Conflict):
        tickets.mark_self_served(session=session, ticket_id=ticket.id, asker_id=asker_id)


def test_feedback_and_comment_are_stored(session: Session) -> None:
    asker_id = _asker(session)
    ticket = tickets.submit(session=session, asker_id=asker_id, text="Question ?")
    tickets.record_feedback(session=session, ticket_id=ticket.id, asker_id=asker_id, value=-1)
    tickets.record_feedback_comment(session=session, ticket_id=ticket.id, asker_id=asker_id,
                                    comment="Incomplet")
    assert (ticket.feedback, ticket.feedback_comment) == (-1, "Incomplet")
    with pytest.raises(InvalidInput):
        tickets.record_feedback(session=session, ticket_id=ticket.id, asker_id=asker_id, value=5)


def test_count_since_counts_recent_questions_only(session: Session) -> None:
    asker_id = _asker(session)
    old = tickets.submit(session=session, asker_id=asker_id, text="Ancienne ?")
    old.created_at = utcnow() - timedelta(days=2)
    tickets.submit(session=session, asker_id=asker_id, text="Récente ?")
    session.flush()
    assert tickets.count_since(session=session, asker_id=asker_id,
                               since=utcnow() - timedelta(days=1)) == 1
    assert [t.text for t in tickets.list_for_asker(session=session, asker_id=asker_id)] == [
        "Récente ?", "Ancienne ?"]
