"""Tickets from the asker's side: submit, clarify, self-serve, wait, give feedback, list."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import adviser_alerts
from knowledge.desk.outbox import enqueue
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.store.models import (
    Asker,
    AskerStatus,
    KnowledgeEntry,
    MessageAuthor,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4_000
MAX_COMMENT_CHARS = 2_000
_EXCERPT_CHARS = 300
# The one definition of "still waiting for an answer": queue, badges, pages, API and stats.
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.IN_REVIEW, TicketStatus.WAITING_ASKER)
CLOSED_STATUSES = (TicketStatus.ANSWERED, TicketStatus.SELF_SERVED, TicketStatus.REJECTED)
OPEN_VALUES = frozenset(status.value for status in OPEN_STATUSES)


def validate_question(text: str) -> str:
    """Return a cleaned question or raise InvalidInput (empty, or over 4,000 characters)."""
    question = clean(text)
    if not question:
        raise InvalidInput("La question est vide.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"La question dépasse {MAX_QUESTION_CHARS} caractères.")
    return question


def get(*, session: Session, ticket_id: int) -> Ticket:
    """Return a ticket or raise NotFound."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def _own(*, session: Session, ticket_id: int, asker_id: int) -> Ticket:
    ticket = get(session=session, ticket_id=ticket_id)
    if ticket.asker_id != asker_id:
        raise Forbidden("Cette question n'est pas la vôtre.")
    return ticket


def _approved_asker(*, session: Session, asker_id: int) -> Asker:
    asker = session.get(Asker, asker_id)
    if asker is None:
        raise NotFound("asker", asker_id)
    if asker.status != AskerStatus.APPROVED.value:
        raise Forbidden("Votre inscription n'est pas validée.")
    return asker


def _excerpt(text: str, size: int = _EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1].rstrip() + "…"


def find_by_telegram_message(*, session: Session, chat_id: int,
                             telegram_message_id: int) -> Ticket | None:
    """Return the ticket stored for a Telegram message, if it was stored already."""
    return session.scalar(select(Ticket).where(Ticket.telegram_chat_id == chat_id,
                                               Ticket.telegram_message_id == telegram_message_id))


def submit(*, session: Session, asker_id: int, text: str, telegram_message_id: int | None = None,
           admin_base_url: str | None = None, telegram_chat_id: int | None = None,
           channel: str = "telegram") -> Ticket:
    """Store a new question and its first message; tell every linked adviser about it.

    With a chat id, the tickets table's unique (chat, message) key stores a Telegram message
    at most once: callers look it up first (`find_by_telegram_message`) when replaying.
    """
    question = validate_question(text)
    asker = _approved_asker(session=session, asker_id=asker_id)
    now = utcnow()
    ticket = Ticket(text=question, status=TicketStatus.NEW.value, asker_id=asker.id,
                    organisation_id=asker.organisation_id, channel=channel,
                    telegram_chat_id=telegram_chat_id,
                    telegram_message_id=telegram_message_id, suggested_entry_ids=[],
                    created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ASKER.value,
                              kind="question", text=question,
                              telegram_message_id=telegram_message_id, created_at=now))
    audit.record(session=session, actor=f"asker:{asker.id}", action="ticket.submit",
                 object_type="ticket", object_id=ticket.id)
    _notify_advisers(session=session, ticket=ticket, asker=asker, admin_base_url=admin_base_url)
    logger.info("ticket %s submitted by asker %s", ticket.id, asker.id)
    return ticket


def _notify_advisers(*, session: Session, ticket: Ticket, asker: Asker,
                     admin_base_url: str | None) -> None:
    advisers = session.scalars(
        select(User).where(User.active.is_(True), User.telegram_chat_id.is_not(None))
        .order_by(User.id))
    organisation = asker.organisation.name if asker.organisation is not None else "organisme ?"
    lines = [f"De : {asker.full_name or 'demandeur'} ({organisation})", "",
             _excerpt(ticket.text)]
    if admin_base_url:
        lines += ["", f"{admin_base_url.rstrip('/')}/tickets/{ticket.id}"]
    body = "\n".join(lines)
    for adviser in advisers:
        assert adviser.telegram_chat_id is not None
        enqueue(session=session, kind=OutboxKind.NOTIFICATION, chat_id=adviser.telegram_chat_id,
                text=body, created_by="bot", user_id=adviser.id, ticket_id=ticket.id)
    adviser_alerts.email_advisers(
        session=session, alert=adviser_alerts.AdviserAlert.NEW_QUESTION, text=body,
        subject=f"[SVP n° {ticket.id}] Nouvelle question ({organisation})", ticket_id=ticket.id)


def _tell_adviser(session: Session, ticket: Ticket, *, subject: str, telegram: str,
                  email: str) -> None:
    """Tell the ticket's adviser the asker wrote: on Telegram if linked, by email if chosen."""
    adviser = ticket.assigned_to
    if adviser is None:
        return
    if adviser.active and adviser.telegram_chat_id is not None:
        enqueue(session=session, kind=OutboxKind.NOTIFICATION, chat_id=adviser.telegram_chat_id,
                text=telegram, created_by="bot", user_id=adviser.id, ticket_id=ticket.id)
    adviser_alerts.email_advisers(session=session, alert=adviser_alerts.AdviserAlert.FOLLOW_UP,
                                  only=adviser, subject=subject, text=email,
                                  ticket_id=ticket.id)


def record_suggestions(*, session: Session, ticket_id: int, entry_ids: Sequence[int],
                       top_score: float | None) -> Ticket:
    """Remember which entries were suggested to the asker and the best score.

    An open question without a theme takes the theme of the best suggestion, so the queue's
    theme filter finds it before an adviser answers.
    """
    ticket = get(session=session, ticket_id=ticket_id)
    ticket.suggested_entry_ids = list(entry_ids)
    ticket.top_score = top_score
    if entry_ids and not ticket.theme:
        best = session.get(KnowledgeEntry, entry_ids[0])
        if best is not None and best.theme:
            ticket.theme = best.theme
    return ticket


def add_asker_message(*, session: Session, ticket_id: int, asker_id: int, text: str,
                      telegram_message_id: int | None = None) -> Ticket:
    """Add the asker's clarification to a ticket's thread and put it back in the queue.

    The same Telegram message given twice (a replayed update) is added once.
    """
    message = validate_question(text)
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    if telegram_message_id is not None and any(
            item.kind == "clarification" and item.telegram_message_id == telegram_message_id
            for item in ticket.messages):
        return ticket
    now = utcnow()
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ASKER.value,
                              kind="clarification", text=message,
                              telegram_message_id=telegram_message_id, created_at=now))
    if ticket.status == TicketStatus.WAITING_ASKER.value:
        ticket.status = (TicketStatus.IN_REVIEW.value if ticket.assigned_to_id is not None
                         else TicketStatus.NEW.value)
    ticket.updated_at = now
    audit.record(session=session, actor=f"asker:{asker_id}", action="ticket.clarify",
                 object_type="ticket", object_id=ticket.id)
    _tell_adviser(session, ticket, subject=f"[SVP n° {ticket.id}] Précision du demandeur",
                  telegram=f"Précision du demandeur :\n\n{_excerpt(message)}",
                  email=f"Précision du demandeur sur la question n° {ticket.id} :\n\n"
                        f"{_excerpt(message)}")
    session.flush()
    return ticket


def asker_message(*, session: Session, ticket_id: int, kind: str,
                  telegram_message_id: int | None = None) -> TicketMessage | None:
    """The asker's message of a ticket (of this Telegram message, if given), the latest first."""
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id,
                                        TicketMessage.author == MessageAuthor.ASKER.value,
                                        TicketMessage.kind == kind)
    if telegram_message_id is not None:
        query = query.where(TicketMessage.telegram_message_id == telegram_message_id)
    return session.scalars(query.order_by(TicketMessage.id.desc()).limit(1)).first()


def latest_open(*, session: Session, asker_id: int, since: datetime) -> Ticket | None:
    """The asker's most recent open question asked since a moment (a document joins it)."""
    return session.scalars(
        select(Ticket).where(Ticket.asker_id == asker_id, Ticket.status.in_(OPEN_VALUES),
                             Ticket.created_at >= since)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)).first()


def telegram_message_stored(*, session: Session, chat_id: int, telegram_message_id: int) -> bool:
    """Whether this Telegram message is already a question or a precision (a replayed update)."""
    if find_by_telegram_message(session=session, chat_id=chat_id,
                                telegram_message_id=telegram_message_id) is not None:
        return True
    return session.scalar(
        select(func.count(TicketMessage.id)).join(Ticket)
        .where(Ticket.telegram_chat_id == chat_id,
               TicketMessage.telegram_message_id == telegram_message_id,
               TicketMessage.author == MessageAuthor.ASKER.value)) != 0


REOPEN_DAYS = 30  # how long after an answer a reply in its thread reopens the question
REOPENED = "reopened"


def may_reopen(ticket: Ticket, now: datetime | None = None) -> bool:
    """Whether the asker's reply to an answered question reopens it (recent answers only)."""
    return (ticket.status == TicketStatus.ANSWERED.value and ticket.answered_at is not None
            and (now or utcnow()) - ticket.answered_at <= timedelta(days=REOPEN_DAYS))


def reopen_with_follow_up(*, session: Session, ticket_id: int, asker_id: int, text: str,
                          now: datetime | None = None) -> Ticket:
    """The asker's follow-up question on an answered ticket: same ticket, back in the queue.

    It returns to the adviser who answered (told through Telegram when they have a chat), or
    to the queue when that adviser is gone.
    """
    message = validate_question(text)
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    now = now or utcnow()
    if not may_reopen(ticket, now):
        raise Conflict(f"La question n° {ticket.id} est close : posez une nouvelle question.")
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ASKER.value,
                              kind=REOPENED, text=message, created_at=now))
    adviser = ticket.assigned_to
    if adviser is not None and adviser.active:
        ticket.status = TicketStatus.IN_REVIEW.value
    else:
        ticket.status = TicketStatus.NEW.value
        ticket.assigned_to_id = None
    ticket.updated_at = now
    audit.record(session=session, actor=f"asker:{asker_id}", action="ticket.reopen",
                 object_type="ticket", object_id=ticket.id)
    said = (f"Nouvelle question du demandeur après votre réponse (n° {ticket.id}) :\n\n"
            f"{_excerpt(message)}")
    _tell_adviser(session, ticket, telegram=said, email=said,
                  subject=f"[SVP n° {ticket.id}] Question de suivi après votre réponse")
    session.flush()
    logger.info("ticket %s reopened by its asker", ticket.id)
    return ticket


def mark_self_served(*, session: Session, ticket_id: int, asker_id: int,
                     entry_id: int | None = None) -> Ticket:
    """Close a ticket the asker says an existing answer (the named entry, if any) resolved."""
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    if ticket.status == TicketStatus.SELF_SERVED.value:
        if entry_id is not None and ticket.entry_id is None:
            # Closed first with the general button, then the asker named the answer: keep it.
            ticket.entry_id = entry_id
            ticket.updated_at = utcnow()
            audit.record(session=session, actor=f"asker:{asker_id}",
                         action="ticket.self_served", object_type="ticket",
                         object_id=ticket.id, details={"entry_id": entry_id})
        return ticket
    if not is_open(ticket):
        raise Conflict(f"La question n° {ticket.id} est déjà close.")
    now = utcnow()
    ticket.status = TicketStatus.SELF_SERVED.value
    if entry_id is not None:
        ticket.entry_id = entry_id
    ticket.answered_at = now
    ticket.updated_at = now
    said = (f"Le demandeur indique que la fiche n° {entry_id} répond à sa question."
            if entry_id is not None else
            "Le demandeur indique qu'une réponse existante le satisfait.")
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.SYSTEM.value,
                              kind="self_served", created_at=now, text=said))
    audit.record(session=session, actor=f"asker:{asker_id}", action="ticket.self_served",
                 object_type="ticket", object_id=ticket.id,
                 details={"entry_id": entry_id} if entry_id is not None else None)
    return ticket


def is_open(ticket: Ticket) -> bool:
    """Tell whether a ticket still waits for an answer."""
    return ticket.status in OPEN_VALUES


def keep_waiting(*, session: Session, ticket_id: int, asker_id: int) -> Ticket:
    """Note that the suggestions did not help and the asker waits for an adviser (once)."""
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    if not is_open(ticket):
        raise Conflict(f"La question n° {ticket.id} est déjà close.")
    if is_waiting(ticket):
        return ticket
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.SYSTEM.value,
                              kind="waiting", created_at=utcnow(),
                              text="Les réponses proposées ne suffisent pas : le demandeur "
                                   "attend un conseiller."))
    return ticket


def is_waiting(ticket: Ticket) -> bool:
    """Tell whether the asker already said they wait for an adviser."""
    return any(item.kind == "waiting" for item in ticket.messages)


def record_feedback(*, session: Session, ticket_id: int, asker_id: int, value: int,
                    comment: str | None = None) -> Ticket:
    """Store the asker's 👍 (+1) or 👎 (-1) on an answer, with an optional comment."""
    if value not in (1, -1):
        raise InvalidInput("Avis invalide.")
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    ticket.feedback = value
    ticket.feedback_at = utcnow()
    if comment is not None:
        ticket.feedback_comment = _comment(comment)
    audit.record(session=session, actor=f"asker:{asker_id}", action="ticket.feedback",
                 object_type="ticket", object_id=ticket.id, details={"value": value})
    return ticket


def record_feedback_comment(*, session: Session, ticket_id: int, asker_id: int,
                            comment: str) -> Ticket:
    """Store the comment that follows a 👎."""
    ticket = _own(session=session, ticket_id=ticket_id, asker_id=asker_id)
    ticket.feedback_comment = _comment(comment)
    ticket.feedback_at = utcnow()
    return ticket


def _comment(text: str) -> str:
    comment = clean(text)
    if not comment:
        raise InvalidInput("Le commentaire est vide.")
    return comment[:MAX_COMMENT_CHARS]


def list_for_asker(*, session: Session, asker_id: int, limit: int = 20) -> list[Ticket]:
    """Return an asker's most recent tickets, newest first."""
    return list(session.scalars(
        select(Ticket).where(Ticket.asker_id == asker_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))


def limit_reached(*, session: Session, asker_id: int, per_minute: int, per_day: int,
                  now: datetime | None = None) -> str | None:
    """Return "minute" or "day" when the asker reached a limit of questions, else None."""
    now = now or utcnow()
    if count_since(session=session, asker_id=asker_id,
                   since=now - timedelta(minutes=1)) >= per_minute:
        return "minute"
    if count_since(session=session, asker_id=asker_id, since=now - timedelta(days=1)) >= per_day:
        return "day"
    return None


def count_since(*, session: Session, asker_id: int, since: datetime) -> int:
    """Count the questions an asker submitted since a moment (for rate limits)."""
    return session.scalar(
        select(func.count(Ticket.id)).where(Ticket.asker_id == asker_id,
                                            Ticket.created_at >= since)) or 0
