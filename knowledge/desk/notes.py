"""Desk tools around the answer: internal notes, follow-ups, releasing or handing a ticket."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import attachments, reaching
from knowledge.desk.attachments import Accepted
from knowledge.desk.formatting import compose
from knowledge.desk.review import (
    MAX_ANSWER_CHARS,
    check_can_act,
    get_ticket,
    message_text,
)
from knowledge.desk.tickets import CLOSED_STATUSES, OPEN_STATUSES
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.store.models import (
    MessageAuthor,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

INTERNAL_NOTE = "internal_note"
FOLLOW_UP = "follow_up"
CORRECTION = "correction"
MAX_NOTE_CHARS = 10_000


def may_note(ticket: Ticket, adviser: User) -> bool:
    """Whether the account may add an internal note to the ticket: the one rule of page and API.

    Any active account, on any ticket, whoever it is assigned to and even once closed. A note
    sends nothing to the asker and changes nothing of the ticket: it is how colleagues help
    the adviser in charge (a reference, a similar case) and keep what happened after the answer
    (a phone call). Answering stays with the adviser in charge (`review.may_work`).
    """
    return adviser.active


def add_note(*, session: Session, ticket_id: int, adviser: User, text: str) -> TicketMessage:
    """Add an internal note to a ticket's thread; it is never sent to the asker."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    if not may_note(ticket, adviser):
        raise Forbidden("Votre compte est désactivé.")
    body = message_text(text, "La note", MAX_NOTE_CHARS)
    note = TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                         kind=INTERNAL_NOTE, user_id=adviser.id, text=body, created_at=utcnow())
    session.add(note)
    audit.record(session=session, actor=f"user:{adviser.login}", action="ticket.note",
                 object_type="ticket", object_id=ticket.id)
    session.flush()
    logger.info("internal note on ticket %s by %s", ticket.id, adviser.login)
    return note


def send_follow_up(*, session: Session, ticket_id: int, adviser: User, text: str,
                   correction: bool = False, signature: str = "",
                   files: tuple[Accepted, ...] = ()) -> TicketMessage:
    """Send the asker a follow-up (or a correction) of an answered ticket, with its files."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    if not adviser.active:
        raise Forbidden("Votre compte est désactivé.")
    if ticket.status not in {s.value for s in CLOSED_STATUSES}:
        raise Conflict(f"La question n° {ticket.id} n'a pas encore reçu de réponse : "
                       "répondez-lui d'abord.")
    body = message_text(text, "Le complément", MAX_ANSWER_CHARS)
    # A question of the help centre is followed there: the thread carries the message.
    if reaching.route(ticket) is None:
        raise Conflict("Le demandeur n'est plus joignable sur Telegram.")
    kind = CORRECTION if correction else FOLLOW_UP
    message = TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value, kind=kind,
                            user_id=adviser.id, text=body, created_at=utcnow())
    session.add(message)
    session.flush()
    stored = attachments.store_all(session=session, ticket_id=ticket.id,
                                   ticket_message_id=message.id, uploads=files,
                                   source="adviser", created_by=f"user:{adviser.login}",
                                   direction=attachments.OUT)
    queued = reaching.send_to_asker(
        session=session, ticket=ticket,
        kind=OutboxKind.CORRECTION if correction else OutboxKind.FOLLOW_UP,
        text=compose(answer=body, signature=signature), formatted=True,
        created_by=f"user:{adviser.login}")
    if queued is not None and stored:
        attachments.attach_to_outbox(session=session, outbox=queued, attachments=stored)
    audit.record(session=session, actor=f"user:{adviser.login}", action=f"ticket.{kind}",
                 object_type="ticket", object_id=ticket.id)
    session.flush()
    logger.info("%s sent on ticket %s by %s", kind, ticket.id, adviser.login)
    return message


def release(*, session: Session, ticket_id: int, adviser: User) -> Ticket:
    """Give a ticket back to the queue: nobody is assigned, a ticket in review is new again."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    if ticket.assigned_to_id is None:
        raise Conflict(f"La question n° {ticket.id} n'est attribuée à personne.")
    ticket.assigned_to_id = None
    if ticket.status == TicketStatus.IN_REVIEW.value:
        ticket.status = TicketStatus.NEW.value
    ticket.updated_at = utcnow()
    audit.record(session=session, actor=f"user:{adviser.login}", action="ticket.release",
                 object_type="ticket", object_id=ticket.id)
    logger.info("ticket %s released by %s", ticket.id, adviser.login)
    return ticket


def hand_over(*, session: Session, ticket_id: int, adviser: User, colleague_id: int) -> Ticket:
    """Assign a ticket to a colleague (an active account)."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    colleague = session.get(User, colleague_id)
    if colleague is None:
        raise NotFound("user", colleague_id)
    if not colleague.active:
        raise InvalidInput(f"Le compte de {colleague.display_name} est désactivé.")
    ticket.assigned_to_id = colleague.id
    if ticket.status == TicketStatus.NEW.value:
        ticket.status = TicketStatus.IN_REVIEW.value
    ticket.updated_at = utcnow()
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.SYSTEM.value,
                              kind=INTERNAL_NOTE, user_id=adviser.id, created_at=utcnow(),
                              text=f"Question confiée à {colleague.display_name} par "
                                   f"{adviser.display_name}."))
    audit.record(session=session, actor=f"user:{adviser.login}", action="ticket.hand_over",
                 object_type="ticket", object_id=ticket.id, details={"to": colleague.login})
    logger.info("ticket %s handed over by %s to %s", ticket.id, adviser.login, colleague.login)
    return ticket
