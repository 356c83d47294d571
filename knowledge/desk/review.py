"""The advisers' review queue: list tickets, assign, ask for clarification, approve, reject."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge import audit
from knowledge.catalog import entries
from knowledge.desk import outbox
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.retrieval import phrasings
from knowledge.store.models import (
    TICKET_STATUS_LABELS,
    Asker,
    MessageAuthor,
    Organisation,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
    UserRole,
)
from knowledge.text import clean
from knowledge.timeutil import utcnow

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.IN_REVIEW, TicketStatus.WAITING_ASKER)
CLOSED_STATUSES = (TicketStatus.ANSWERED, TicketStatus.SELF_SERVED, TicketStatus.REJECTED)
MAX_MESSAGE_CHARS = 4_000


class Publication(enum.StrEnum):
    """What approving a ticket does to the knowledge base."""

    NEW = "new"
    UPDATE = "update"
    NONE = "none"


@dataclass(frozen=True)
class QueueFilter:
    """Criteria of the review queue; every field left None is ignored."""

    statuses: tuple[TicketStatus, ...] = OPEN_STATUSES
    assigned_to_id: int | None = None
    unassigned: bool = False
    theme: str | None = None
    organisation_id: int | None = None
    departement: str | None = None
    min_age_days: int | None = None  # working days


@dataclass(frozen=True)
class QueueItem:
    """A ticket of the queue with its age against the target delay."""

    ticket: Ticket
    age_days: int  # working days since the question arrived
    target_days: int

    @property
    def badge(self) -> str:
        """`ok`, `soon` (last day of the delay) or `late` (past the target delay)."""
        if self.ticket.status not in {s.value for s in OPEN_STATUSES}:
            return "done"
        if self.age_days > self.target_days:
            return "late"
        if self.age_days >= max(self.target_days - 1, 0):
            return "soon"
        return "ok"


@dataclass(frozen=True)
class Approval:
    """What an adviser decided when approving a ticket."""

    answer: str
    publication: Publication = Publication.NONE
    question: str | None = None  # the question as rewritten for the knowledge base
    theme: str | None = None
    legal_references: tuple[str, ...] = ()
    entry_id: int | None = None  # the entry to revise when publication is UPDATE
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ApprovalOutcome:
    """What an approval wrote."""

    ticket: Ticket
    entry_id: int | None
    outbox_id: int | None


def working_days_between(start: date, end: date) -> int:
    """Count the working days (Monday to Friday) after `start` up to and including `end`."""
    if end <= start:
        return 0
    days = (end - start).days
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def age_in_working_days(ticket: Ticket, now: datetime | None = None) -> int:
    """Return how many working days a ticket has been waiting (until now or its answer)."""
    end = ticket.answered_at or now or utcnow()
    return working_days_between(ticket.created_at.date(), end.date())


def list_queue(*, session: Session, criteria: QueueFilter | None = None, target_days: int = 5,
               now: datetime | None = None, limit: int = 500) -> list[QueueItem]:
    """List the tickets matching the criteria, oldest first, with their age badges."""
    criteria = criteria or QueueFilter()
    query = (select(Ticket)
             .options(selectinload(Ticket.asker), selectinload(Ticket.organisation),
                      selectinload(Ticket.assigned_to))
             .order_by(Ticket.created_at, Ticket.id))
    if criteria.statuses:
        query = query.where(Ticket.status.in_([s.value for s in criteria.statuses]))
    if criteria.unassigned:
        query = query.where(Ticket.assigned_to_id.is_(None))
    elif criteria.assigned_to_id is not None:
        query = query.where(Ticket.assigned_to_id == criteria.assigned_to_id)
    if criteria.theme:
        query = query.where(Ticket.theme == criteria.theme)
    if criteria.organisation_id is not None:
        query = query.where(Ticket.organisation_id == criteria.organisation_id)
    if criteria.departement:
        query = query.join(Organisation, Organisation.id == Ticket.organisation_id).where(
            Organisation.departement == criteria.departement)
    now = now or utcnow()
    items = []
    for ticket in session.scalars(query.limit(limit)):
        age = age_in_working_days(ticket, now)
        if criteria.min_age_days is not None and age < criteria.min_age_days:
            continue
        items.append(QueueItem(ticket=ticket, age_days=age, target_days=target_days))
    return items


def themes(*, session: Session) -> list[str]:
    """Return the themes tickets were filed under, sorted."""
    rows = session.scalars(select(Ticket.theme).where(Ticket.theme.is_not(None)).distinct())
    return sorted(t for t in rows if t)


def get_ticket(*, session: Session, ticket_id: int) -> Ticket:
    """Return a ticket or raise NotFound."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def _actor(adviser: User) -> str:
    return f"user:{adviser.login}"


def _check_can_act(ticket: Ticket, adviser: User, allowed: tuple[TicketStatus, ...]) -> None:
    # Advisers work their own tickets and unassigned ones; admins may take over any ticket.
    if not adviser.active:
        raise Forbidden("Votre compte est désactivé.")
    if ticket.status not in {s.value for s in allowed}:
        label = TICKET_STATUS_LABELS[TicketStatus(ticket.status)]
        raise Conflict(
            f"La question n° {ticket.id} est au statut « {label} » : "
            "cette action n'est plus possible.")
    if (ticket.assigned_to_id is not None and ticket.assigned_to_id != adviser.id
            and adviser.role != UserRole.ADMIN.value):
        raise Forbidden(
            f"La question n° {ticket.id} est attribuée à un autre conseiller : seul un "
            "administrateur peut la reprendre.")


def _touch(ticket: Ticket, status: TicketStatus | None = None) -> None:
    if status is not None:
        ticket.status = status.value
    ticket.updated_at = utcnow()


def _chat_of(ticket: Ticket) -> tuple[Asker | None, int | None]:
    asker = ticket.asker
    if asker is None:
        return None, None
    return asker, asker.chat_id or asker.telegram_user_id


def _message_text(text: str, what: str) -> str:
    value = clean(text)
    if not value:
        raise InvalidInput(f"{what} est vide.")
    if len(value) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"{what} dépasse {MAX_MESSAGE_CHARS} caractères.")
    return value


def assign_to_me(*, session: Session, ticket_id: int, adviser: User) -> Ticket:
    """Assign a ticket to the adviser; a new ticket goes into review."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    _check_can_act(ticket, adviser, OPEN_STATUSES)
    ticket.assigned_to_id = adviser.id
    _touch(ticket, TicketStatus.IN_REVIEW if ticket.status == TicketStatus.NEW.value else None)
    audit.record(session=session, actor=_actor(adviser), action="ticket.assign",
                 object_type="ticket", object_id=ticket.id)
    logger.info("ticket %s assigned to %s", ticket.id, adviser.login)
    return ticket


def request_clarification(*, session: Session, ticket_id: int, adviser: User,
                          message: str) -> Ticket:
    """Ask the asker for details through the outbox; the ticket waits for the asker."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    _check_can_act(ticket, adviser, (TicketStatus.NEW, TicketStatus.IN_REVIEW))
    text = _message_text(message, "La demande de précision")
    asker, chat_id = _chat_of(ticket)
    if chat_id is None:
        raise Conflict("Le demandeur n'est plus joignable sur Telegram.")
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                              kind="clarification", user_id=adviser.id, text=text,
                              created_at=utcnow()))
    outbox.enqueue(session=session, kind=OutboxKind.CLARIFICATION, chat_id=chat_id, text=text,
                   created_by=_actor(adviser), asker_id=asker.id if asker else None,
                   ticket_id=ticket.id)
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
    _touch(ticket, TicketStatus.WAITING_ASKER)
    audit.record(session=session, actor=_actor(adviser), action="ticket.clarify",
                 object_type="ticket", object_id=ticket.id)
    logger.info("clarification asked on ticket %s by %s", ticket.id, adviser.login)
    return ticket


def approve(*, session: Session, ticket_id: int, adviser: User, approval: Approval,
            embedder: Embedder | None = None) -> ApprovalOutcome:
    """Answer a ticket: publish or revise an entry if asked, queue the answer, in one unit."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    _check_can_act(ticket, adviser, OPEN_STATUSES)
    answer = _message_text(approval.answer, "La réponse")
    actor = _actor(adviser)
    entry_id: int | None = None
    if approval.publication is Publication.NEW:
        entry = entries.create(
            session=session, actor=actor, embedder=embedder,
            content=entries.EntryFields(
                question=approval.question or ticket.text, answer=answer,
                theme=approval.theme, legal_references=approval.legal_references,
                tags=approval.tags))
        entry_id = entry.id
    elif approval.publication is Publication.UPDATE:
        if approval.entry_id is None:
            raise InvalidInput("Choisissez la fiche à mettre à jour.")
        current = entries.get(session=session, entry_id=approval.entry_id)
        previous = entries.EntryFields.of(current)
        # The form prefills the asker's own words: a revision keeps the entry's question
        # unless the adviser actually rewrote it.
        rewritten = clean(approval.question or "")
        question = previous.question if rewritten in ("", clean(ticket.text)) else rewritten
        entry = entries.update(
            session=session, entry_id=current.id, actor=actor, embedder=embedder,
            reason=f"question n° {ticket.id}",
            content=entries.EntryFields(
                question=question, answer=answer,
                theme=approval.theme or previous.theme,
                legal_references=approval.legal_references or previous.legal_references,
                tags=previous.tags, source=previous.source, review_by=previous.review_by,
                external_id=previous.external_id))
        entry_id = entry.id
    now = utcnow()
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                              kind="answer", user_id=adviser.id, text=answer, created_at=now))
    asker, chat_id = _chat_of(ticket)
    outbox_id = None
    if chat_id is not None:
        message = outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=chat_id,
                                 text=answer, created_by=actor,
                                 asker_id=asker.id if asker else None, ticket_id=ticket.id)
        outbox_id = message.id
    else:
        session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.SYSTEM.value,
                                  kind="note", text="Réponse non envoyée : demandeur injoignable.",
                                  created_at=now))
    ticket.entry_id = entry_id if entry_id is not None else ticket.entry_id
    # The asker's words become a phrasing of the entry that answered them (issue 11).
    answered_from = entry_id if entry_id is not None else approval.entry_id
    if answered_from is not None:
        phrasings.learn_from_ticket(session=session, entry_id=answered_from,
                                    question=ticket.text, ticket_id=ticket.id, actor=actor,
                                    embedder=embedder)
    ticket.answered_at = now
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
    if approval.theme and not ticket.theme:
        ticket.theme = clean(approval.theme) or None
    _touch(ticket, TicketStatus.ANSWERED)
    audit.record(session=session, actor=actor, action="ticket.approve", object_type="ticket",
                 object_id=ticket.id,
                 details={"publication": approval.publication.value, "entry_id": entry_id})
    session.flush()
    logger.info("ticket %s approved by %s (%s, entry %s)", ticket.id, adviser.login,
                approval.publication.value, entry_id)
    return ApprovalOutcome(ticket=ticket, entry_id=entry_id, outbox_id=outbox_id)


def reject(*, session: Session, ticket_id: int, adviser: User, message: str) -> Ticket:
    """Close a ticket as out of scope and tell the asker why."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    _check_can_act(ticket, adviser, OPEN_STATUSES)
    text = _message_text(message, "Le message de rejet")
    actor = _actor(adviser)
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                              kind="rejection", user_id=adviser.id, text=text,
                              created_at=utcnow()))
    asker, chat_id = _chat_of(ticket)
    if chat_id is not None:
        outbox.enqueue(session=session, kind=OutboxKind.REJECTION, chat_id=chat_id, text=text,
                       created_by=actor, asker_id=asker.id if asker else None,
                       ticket_id=ticket.id)
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
    ticket.answered_at = utcnow()
    _touch(ticket, TicketStatus.REJECTED)
    audit.record(session=session, actor=actor, action="ticket.reject", object_type="ticket",
                 object_id=ticket.id)
    logger.info("ticket %s rejected by %s", ticket.id, adviser.login)
    return ticket


def thread(*, session: Session, ticket_id: int) -> list[TicketMessage]:
    """Return a ticket's messages, oldest first."""
    return list(session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
                                .order_by(TicketMessage.id)))
