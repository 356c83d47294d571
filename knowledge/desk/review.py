"""The advisers' review queue: list tickets, assign, ask for clarification, approve, reject."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge import audit
from knowledge.catalog import entries, personal_data, reviews
from knowledge.catalog import themes as theme_list
from knowledge.desk import attachments, courtesy, reaching
from knowledge.desk.attachments import Accepted
from knowledge.desk.formatting import compose
from knowledge.desk.tickets import OPEN_STATUSES, OPEN_VALUES, is_open
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.retrieval import phrasings
from knowledge.store.models import (
    TICKET_STATUS_LABELS,
    MessageAuthor,
    Organisation,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
    UserRole,
)
from knowledge.text import clean, row_number
from knowledge.timeutil import utcnow

if TYPE_CHECKING:
    from index.embedders import Embedder
    from knowledge.retrieval.search import SearchHit

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4_000
# Telegram takes 4,096 characters per message; the outbox sends longer answers in parts.
MAX_ANSWER_CHARS = 20_000
# The oldest age filter, in working days: further back, the arrival day leaves datetime's range.
MAX_MIN_AGE_DAYS = 3_650
PAGE_SIZE = 50
FEEDBACK_FILTERS = {"any": "avec un avis", "up": "👍", "down": "👎",
                    "comment": "avec un commentaire"}


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
    min_age_days: int | None = None  # working days since arrival
    text: str | None = None  # words of the question, or its number
    feedback: str | None = None  # a key of FEEDBACK_FILTERS


@dataclass(frozen=True)
class QueueItem:
    """A ticket of the queue with its age against the target delay."""

    ticket: Ticket
    age_days: int  # working days since the question arrived
    target_days: int

    @property
    def badge(self) -> str:
        """`ok`, `soon` (last day of the delay) or `late` (past the target delay)."""
        if not is_open(self.ticket):
            return "done"
        if self.age_days > self.target_days:
            return "late"
        if self.age_days >= max(self.target_days - 1, 0):
            return "soon"
        return "ok"


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and how many tickets match in all."""

    items: list[QueueItem]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max((self.total + self.page_size - 1) // self.page_size, 1)


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
    signature: str = ""  # appended to the message sent, never to the entry
    # The configured signature template ({prénom}, {nom}): any adviser's signature it matches
    # is dropped from the entry, as are greetings and closing formulas...
    signature_template: str = ""
    keep_courtesy: bool = False  # ...unless the adviser keeps the answer's text as written
    source_entry_id: int | None = None  # the suggestion sent as is (publication NONE)
    review_months: int = reviews.DEFAULT_REVIEW_MONTHS  # a new entry's review period
    # The adviser saw the personal data the detector found and publishes it on purpose.
    confirm_personal_data: bool = False
    files: tuple[Accepted, ...] = ()  # checked files sent with the answer (attachments.check)
    files_to_entry: bool = False  # ...and kept as the published entry's documents


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


def _arrived_on_or_before(min_age_days: int, today: date) -> date:
    # The latest arrival day that is at least `min_age_days` working days old today.
    day = today
    while working_days_between(day, today) < min_age_days:
        day -= timedelta(days=1)
    return day


def _conditions(criteria: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.statuses:
        conditions.append(Ticket.status.in_([s.value for s in criteria.statuses]))
    if criteria.unassigned:
        conditions.append(Ticket.assigned_to_id.is_(None))
    elif criteria.assigned_to_id is not None:
        conditions.append(Ticket.assigned_to_id == criteria.assigned_to_id)
    if criteria.theme:
        conditions.append(Ticket.theme == criteria.theme)
    if criteria.organisation_id is not None:
        conditions.append(Ticket.organisation_id == criteria.organisation_id)
    if criteria.departement:
        conditions.append(Ticket.organisation_id.in_(
            select(Organisation.id).where(Organisation.departement == criteria.departement)))
    if criteria.min_age_days:
        last_day = _arrived_on_or_before(criteria.min_age_days, now.date())
        conditions.append(Ticket.created_at < datetime.combine(
            last_day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo))
    words = clean(criteria.text or "")
    if words:
        number = words.removeprefix("n°").strip()
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        match = Ticket.text.ilike(pattern, escape="\\")
        # A number is also a ticket number (short enough for the integer column).
        ticket_number = row_number(number)
        conditions.append(or_(match, Ticket.id == ticket_number) if ticket_number else match)
    if criteria.feedback == "up":
        conditions.append(Ticket.feedback == 1)
    elif criteria.feedback == "down":
        conditions.append(Ticket.feedback == -1)
    elif criteria.feedback == "comment":
        conditions.append(Ticket.feedback_comment.is_not(None))
    elif criteria.feedback == "any":
        conditions.append(Ticket.feedback.is_not(None))
    return conditions


def queue_page(*, session: Session, criteria: QueueFilter | None = None, page: int = 1,
               page_size: int = PAGE_SIZE, target_days: int = 5,
               now: datetime | None = None) -> QueuePage:
    """One page of the tickets matching the criteria, oldest first, with their age badges."""
    criteria = criteria or QueueFilter()
    now = now or utcnow()
    conditions = _conditions(criteria, now)
    total = session.scalar(select(func.count(Ticket.id)).where(*conditions)) or 0
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    query = (select(Ticket).where(*conditions)
             .options(selectinload(Ticket.asker), selectinload(Ticket.organisation),
                      selectinload(Ticket.assigned_to))
             .order_by(Ticket.created_at, Ticket.id)
             .offset((page - 1) * page_size).limit(page_size))
    items = [QueueItem(ticket=ticket, age_days=age_in_working_days(ticket, now),
                       target_days=target_days) for ticket in session.scalars(query)]
    return QueuePage(items=items, total=total, page=page, page_size=page_size)


def list_queue(*, session: Session, criteria: QueueFilter | None = None, target_days: int = 5,
               now: datetime | None = None, limit: int = 500) -> list[QueueItem]:
    """List the tickets matching the criteria, oldest first, with their age badges."""
    return queue_page(session=session, criteria=criteria, page_size=limit,
                      target_days=target_days, now=now).items


def count_mine(*, session: Session, adviser_id: int) -> int:
    """Count the open tickets assigned to an adviser (the menu's "mes questions")."""
    return session.scalar(select(func.count(Ticket.id)).where(
        Ticket.assigned_to_id == adviser_id,
        Ticket.status.in_(OPEN_VALUES))) or 0


def _workable(adviser: User, current: Ticket) -> list[ColumnElement[bool]]:
    return [Ticket.status.in_(OPEN_VALUES), Ticket.id != current.id,
            or_(Ticket.assigned_to_id.is_(None), Ticket.assigned_to_id == adviser.id)]


def next_ticket(*, session: Session, after: Ticket, adviser: User) -> Ticket | None:
    """The next open ticket of the queue this adviser may take (wrapping to the oldest)."""
    base = (select(Ticket).where(*_workable(adviser, after))
            .order_by(Ticket.created_at, Ticket.id).limit(1))
    later = or_(Ticket.created_at > after.created_at,
                (Ticket.created_at == after.created_at) & (Ticket.id > after.id))
    return session.scalars(base.where(later)).first() or session.scalars(base).first()


def previous_ticket(*, session: Session, before: Ticket, adviser: User) -> Ticket | None:
    """The previous open ticket of the queue this adviser may take (wrapping to the newest)."""
    base = (select(Ticket).where(*_workable(adviser, before))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    earlier = or_(Ticket.created_at < before.created_at,
                  (Ticket.created_at == before.created_at) & (Ticket.id < before.id))
    return session.scalars(base.where(earlier)).first() or session.scalars(base).first()


def count_open_since(*, session: Session, after_id: int) -> int:
    """Count the open tickets newer than a ticket number (the queue's live refresh)."""
    return session.scalar(select(func.count(Ticket.id)).where(
        Ticket.id > after_id, Ticket.status.in_(OPEN_VALUES))) or 0


def latest_ticket_id(*, session: Session) -> int:
    """The number of the newest ticket (0 when there is none), for the queue's live refresh."""
    return session.scalar(select(func.max(Ticket.id))) or 0


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


def _ticket_to_change(session: Session, ticket_id: int) -> Ticket:
    # Read afresh and locked (PostgreSQL; SQLite writers are serialised anyway): two advisers,
    # or two API calls, acting at once see each other's change, so an answer is sent once.
    ticket = session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def _actor(adviser: User) -> str:
    return f"user:{adviser.login}"


def may_work(ticket: Ticket, adviser: User) -> bool:
    """Whether the account may answer the ticket (or clarify, reject, release, hand it over).

    Advisers work their own tickets and unassigned ones; admins may take over any ticket.
    Internal notes follow a wider rule (`notes.may_note`): any active account, any ticket.
    """
    return adviser.active and (ticket.assigned_to_id in (None, adviser.id)
                               or adviser.role == UserRole.ADMIN.value)


def check_can_act(ticket: Ticket, adviser: User, allowed: tuple[TicketStatus, ...]) -> None:
    """Refuse an action on a ticket in another status or assigned to another adviser."""
    if not adviser.active:
        raise Forbidden("Votre compte est désactivé.")
    if ticket.status not in {s.value for s in allowed}:
        label = TICKET_STATUS_LABELS[TicketStatus(ticket.status)]
        raise Conflict(
            f"La question n° {ticket.id} est au statut « {label} » : "
            "cette action n'est plus possible.")
    if not may_work(ticket, adviser):
        raise Forbidden(
            f"La question n° {ticket.id} est attribuée à un autre conseiller : seul un "
            "administrateur peut la reprendre.")


def _touch(ticket: Ticket, status: TicketStatus | None = None) -> None:
    if status is not None:
        ticket.status = status.value
    ticket.updated_at = utcnow()


def message_text(text: str, what: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Clean a message to the asker; refuse it empty or longer than `limit`."""
    value = clean(text)
    if not value:
        raise InvalidInput(f"{what} est vide.")
    if len(value) > limit:
        raise InvalidInput(f"{what} compte {len(value)} caractères : le maximum est {limit}.")
    return value


def assign_to_me(*, session: Session, ticket_id: int, adviser: User) -> Ticket:
    """Assign a ticket to the adviser; a new ticket goes into review."""
    ticket = _ticket_to_change(session, ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    ticket.assigned_to_id = adviser.id
    _touch(ticket, TicketStatus.IN_REVIEW if ticket.status == TicketStatus.NEW.value else None)
    audit.record(session=session, actor=_actor(adviser), action="ticket.assign",
                 object_type="ticket", object_id=ticket.id)
    logger.info("ticket %s assigned to %s", ticket.id, adviser.login)
    return ticket


def request_clarification(*, session: Session, ticket_id: int, adviser: User,
                          message: str) -> Ticket:
    """Ask the asker for details through the outbox; the ticket waits for the asker."""
    ticket = _ticket_to_change(session, ticket_id)
    check_can_act(ticket, adviser, (TicketStatus.NEW, TicketStatus.IN_REVIEW))
    text = message_text(message, "La demande de précision")
    # A question asked in the help centre is followed there: its thread is the message.
    if reaching.route(ticket) is None:
        raise Conflict("Le demandeur n'est plus joignable sur Telegram.")
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                              kind="clarification", user_id=adviser.id, text=text,
                              created_at=utcnow()))
    reaching.send_to_asker(session=session, ticket=ticket, kind=OutboxKind.CLARIFICATION,
                           text=text, created_by=_actor(adviser))
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
    _touch(ticket, TicketStatus.WAITING_ASKER)
    audit.record(session=session, actor=_actor(adviser), action="ticket.clarify",
                 object_type="ticket", object_id=ticket.id)
    logger.info("clarification asked on ticket %s by %s", ticket.id, adviser.login)
    return ticket


def duplicate_candidates(approval: Approval, *, ticket_text: str, confirmed: bool,
                         near_duplicates: Callable[[str, str], list[SearchHit]]
                         ) -> list[SearchHit]:
    """Entries so close to a new publication that the adviser must confirm it (page and API).

    Only a new entry is checked, unless the adviser already confirmed; `near_duplicates`
    searches the index (run it before the unit of work writes: the search reads on its own).
    """
    if (approval.publication is not Publication.NEW or confirmed
            or not clean(approval.answer)):
        return []
    return near_duplicates(clean(approval.question or "") or ticket_text, approval.answer)


def entry_answer(approval: Approval) -> str:
    """The text a published answer gives its entry: without greeting, closing, signature."""
    if approval.keep_courtesy:
        return clean(approval.answer)
    return courtesy.strip_courtesy(
        clean(approval.answer),
        signatures=[s for s in (approval.signature, approval.signature_template) if s])


def approve(*, session: Session, ticket_id: int, adviser: User, approval: Approval,
            embedder: Embedder | None = None) -> ApprovalOutcome:
    """Answer a ticket: publish or revise an entry if asked, queue the answer, in one unit."""
    ticket = _ticket_to_change(session, ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    answer = message_text(approval.answer, "La réponse", MAX_ANSWER_CHARS)
    actor = _actor(adviser)
    # Chosen from the managed list: a theme typed anew is refused, whatever the form sent.
    theme = theme_list.known(session=session, name=approval.theme, current=ticket.theme)
    entry_id: int | None = None
    published = entry_answer(approval) if approval.publication is not Publication.NONE else ""
    if approval.publication is not Publication.NONE and not published:
        raise InvalidInput("Sans les formules de politesse ni la signature, la réponse est vide : "
                           "gardez le texte d'origine dans la fiche ou envoyez sans publier.")
    if approval.publication is Publication.NEW:
        # What is published is checked: a greeting naming the asker does not reach the entry.
        personal_data.check(session=session, texts=(approval.question or ticket.text, published),
                            confirmed=approval.confirm_personal_data, actor=actor,
                            object_type="ticket", object_id=ticket.id)
        entry = entries.create(
            session=session, actor=actor, embedder=embedder, origin_ticket_id=ticket.id,
            review_months=approval.review_months,
            content=entries.EntryFields(
                question=approval.question or ticket.text, answer=published,
                theme=theme, legal_references=approval.legal_references,
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
        personal_data.check(session=session, texts=(question, published),
                            confirmed=approval.confirm_personal_data, actor=actor,
                            object_type="ticket", object_id=ticket.id)
        entry = entries.update(
            session=session, entry_id=current.id, actor=actor, embedder=embedder,
            reason=f"question n° {ticket.id}",
            content=entries.EntryFields(
                question=question, answer=published,
                theme=theme or previous.theme,
                legal_references=approval.legal_references or previous.legal_references,
                tags=previous.tags, source=previous.source, review_by=previous.review_by,
                external_id=previous.external_id))
        entry_id = entry.id
    elif approval.source_entry_id is not None:
        # A suggestion sent as is: the ticket is linked to the entry its answer came from
        # (the asker's feedback then concerns that entry). Rewritten text is the adviser's own.
        source = entries.get(session=session, entry_id=approval.source_entry_id)
        if clean(source.answer) == answer:
            entry_id = source.id
    now = utcnow()
    # The thread keeps the answer as the asker receives it: references and signature included.
    sent = compose(answer=answer, references=approval.legal_references,
                   signature=approval.signature)
    answer_message = TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                                   kind="answer", user_id=adviser.id, text=sent,
                                   created_at=now)
    session.add(answer_message)
    session.flush()
    files = attachments.store_all(session=session, ticket_id=ticket.id,
                                  ticket_message_id=answer_message.id, uploads=approval.files,
                                  source="adviser", created_by=actor, direction=attachments.OUT)
    if files and approval.files_to_entry and entry_id is not None \
            and approval.publication is not Publication.NONE:
        attachments.keep_for_entry(session=session, attachments=files, entry_id=entry_id,
                                   created_by=actor)
    outbox_id = None
    if reaching.route(ticket) is not None:  # on the web, also read in « Mes questions »
        message = reaching.send_to_asker(session=session, ticket=ticket, kind=OutboxKind.ANSWER,
                                         text=sent, created_by=actor, formatted=True)
        if message is not None and files:
            attachments.attach_to_outbox(session=session, outbox=message, attachments=files)
        outbox_id = message.id if message is not None else None
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
    ticket.draft = None
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
    if theme and not ticket.theme:
        ticket.theme = theme
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
    ticket = _ticket_to_change(session, ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    text = message_text(message, "Le message de rejet")
    actor = _actor(adviser)
    session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                              kind="rejection", user_id=adviser.id, text=text,
                              created_at=utcnow()))
    reaching.send_to_asker(session=session, ticket=ticket, kind=OutboxKind.REJECTION, text=text,
                           created_by=actor)
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
