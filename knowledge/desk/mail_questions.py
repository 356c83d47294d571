"""Questions and follow-ups that arrive by email: which ticket a reply belongs to, and the
same desk as Telegram and the help centre (same queue, same rules)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.desk import reaching, tickets
from knowledge.store.models import MessageAuthor, Outbox, Ticket, TicketMessage
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

_THREAD_ID = re.compile(r"^<svp-question-(\d{1,12})@")


def find_thread(*, session: Session, references: Sequence[str], ticket_number: int | None,
                asker_id: int) -> Ticket | None:
    """The asker's ticket an email answers: by the Message-IDs it refers to, else by the
    « [SVP n° 123] » of its subject; never another asker's ticket."""
    candidates: list[int] = []
    for reference in references:
        match = _THREAD_ID.match(reference)
        if match:
            candidates.append(int(match.group(1)))
            continue
        sent = session.scalars(select(Outbox.ticket_id).where(
            Outbox.mail_message_id == reference, Outbox.ticket_id.is_not(None))).first()
        if sent is not None:
            candidates.append(sent)
            continue
        asked = session.scalars(select(Ticket.id).where(
            Ticket.email_message_id == reference)).first()
        if asked is not None:
            candidates.append(asked)
    if ticket_number is not None:
        candidates.append(ticket_number)
    for ticket_id in candidates:
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None and ticket.asker_id == asker_id:
            return ticket
    return None


def question_text(subject: str, text: str) -> str:
    """The question of an email: its subject, then its text, within the desk's limit."""
    subject, text = clean(subject), clean(text)
    if subject and not text.lower().startswith(subject.lower()):
        text = f"{subject}\n\n{text}" if text else subject
    if len(text) > tickets.MAX_QUESTION_CHARS:
        cut = tickets.MAX_QUESTION_CHARS - 60
        text = (text[:cut].rstrip() + "\n\n[… message tronqué : le texte complet est dans le "
                "courriel reçu]")
    return text


def ask(*, session: Session, asker_id: int, subject: str, text: str, message_id: str | None,
        admin_base_url: str | None, warning: str | None = None) -> Ticket:
    """A new question from an email, in the same queue as the others (channel « email »)."""
    ticket = tickets.submit(session=session, asker_id=asker_id,
                            text=question_text(subject, text), admin_base_url=admin_base_url,
                            channel=reaching.EMAIL_CHANNEL)
    ticket.email_message_id = message_id[:998] if message_id else None
    ticket.email_subject = clean(subject)[:200] or None
    if warning:
        session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.SYSTEM.value,
                                  kind="note", created_at=utcnow(),
                                  text=f"Attention : {warning}. L'expéditeur a pu être usurpé : "
                                       "vérifiez auprès de lui avant de répondre."))
    return ticket


def follow_up(*, session: Session, ticket: Ticket, asker_id: int, text: str) -> str | None:
    """An email replying in a ticket's thread: a precision on an open ticket, or a follow-up
    question that reopens a recent answer; None when the ticket is closed for good."""
    if tickets.is_open(ticket):
        tickets.add_asker_message(session=session, ticket_id=ticket.id, asker_id=asker_id,
                                  text=text)
        return "clarification"
    if tickets.may_reopen(ticket):
        tickets.reopen_with_follow_up(session=session, ticket_id=ticket.id, asker_id=asker_id,
                                      text=text)
        return tickets.REOPENED
    return None
