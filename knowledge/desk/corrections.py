"""Corrections pushed to askers when an entry they were answered from changes or is retired."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog import entries, history
from knowledge.desk import outbox
from knowledge.errors import Conflict, InvalidInput
from knowledge.store.catalog_models import EntryCorrection
from knowledge.store.models import (
    Asker,
    AskerStatus,
    EntryStatus,
    MessageAuthor,
    Outbox,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 3_500
HOW_LABELS = {
    TicketStatus.ANSWERED.value: "réponse d'un conseiller",
    TicketStatus.SELF_SERVED.value: "suggestion qui a répondu à sa question",
}


@dataclass
class Recipient:
    """An asker who received an answer based on the entry, with the tickets concerned."""

    asker_id: int
    name: str
    tickets: list[Ticket] = field(default_factory=list)
    reachable: bool = True  # not erased, with a Telegram chat
    corrected: bool = False  # already told about the current revision (or the retirement)

    @property
    def pending(self) -> bool:
        """Tell whether a correction may still be sent to this asker."""
        return self.reachable and not self.corrected

    @property
    def how(self) -> str:
        """How the asker got the answer, in French."""
        return ", ".join(dict.fromkeys(HOW_LABELS.get(t.status, t.status) for t in self.tickets))


@dataclass(frozen=True)
class CorrectionState:
    """Who should hear that an entry changed, and what was already sent."""

    revision: int  # the last revision that changed the substance
    retired: bool
    changed_at: datetime | None  # when the substance last changed (or the entry was retired)
    recipients: list[Recipient]
    sent: list[tuple[EntryCorrection, Outbox | None]]

    @property
    def pending(self) -> list[Recipient]:
        """Askers a correction may be sent to now."""
        return [r for r in self.recipients if r.pending]


def _last_change(session: Session, entry_id: int, retired: bool
                 ) -> tuple[datetime | None, int]:
    """When the substance last changed (or the entry was retired), and that revision's number."""
    moment, number = None, 1
    previous = None
    for revision in entries.revisions(session=session, entry_id=entry_id):
        if history.is_substantive(previous, revision):
            moment, number = revision.changed_at, revision.revision
        previous = revision
    if retired:
        events = [e for e in audit.for_object(session=session, object_type="entry",
                                              object_id=entry_id)
                  if e.action == "entry.retire"]
        moment = events[-1].at if events else moment
    return moment, number


def state(*, session: Session, entry_id: int) -> CorrectionState:
    """List the askers concerned by the latest change of substance (or the retirement)."""
    entry = entries.get(session=session, entry_id=entry_id)
    retired = entry.status == EntryStatus.RETIRED.value
    # A change of form (minor revision) keeps the key: nobody is told twice about one change.
    changed_at, revision = _last_change(session, entry.id, retired)
    sent: list[tuple[EntryCorrection, Outbox | None]] = [
        (correction, message) for correction, message in session.execute(
            select(EntryCorrection, Outbox)
            .outerjoin(Outbox, Outbox.id == EntryCorrection.outbox_id)
            .where(EntryCorrection.entry_id == entry.id).order_by(EntryCorrection.id))]
    if changed_at is None:
        return CorrectionState(revision=revision, retired=retired, changed_at=None,
                               recipients=[], sent=sent)
    done = {c.asker_id for c, _ in sent if c.revision == revision and c.retired == retired}
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.asker_id.is_not(None), Ticket.answered_at.is_not(None),
            Ticket.answered_at < changed_at,
            or_(Ticket.status == TicketStatus.ANSWERED.value,
                Ticket.status == TicketStatus.SELF_SERVED.value))
        .order_by(Ticket.answered_at, Ticket.id))
    by_asker: dict[int, Recipient] = {}
    for ticket in tickets:
        based = ticket.entry_id == entry.id or (
            ticket.entry_id is None and ticket.status == TicketStatus.SELF_SERVED.value
            and entry.id in (ticket.suggested_entry_ids or []))
        if not based or ticket.asker_id is None:
            continue
        recipient = by_asker.get(ticket.asker_id)
        if recipient is None:
            asker = session.get(Asker, ticket.asker_id)
            assert asker is not None
            erased = asker.status == AskerStatus.ERASED.value
            recipient = Recipient(
                asker_id=asker.id,
                name="(données effacées)" if erased else asker.full_name or f"n° {asker.id}",
                reachable=not erased and _chat(asker) is not None,
                corrected=asker.id in done)
            by_asker[asker.id] = recipient
        recipient.tickets.append(ticket)
    return CorrectionState(revision=revision, retired=retired, changed_at=changed_at,
                           recipients=list(by_asker.values()), sent=sent)


def _chat(asker: Asker) -> int | None:
    return asker.chat_id or asker.telegram_user_id


def default_message(*, session: Session, entry_id: int) -> str:
    """The message advisers start from: the entry's current answer, or its withdrawal."""
    entry = entries.get(session=session, entry_id=entry_id)
    if entry.status == EntryStatus.RETIRED.value:
        return ("La réponse que nous vous avions donnée n'est plus valable (la réglementation "
                "a changé). N'hésitez pas à nous reposer votre question si elle est toujours "
                "d'actualité.")
    return ("La réponse que nous vous avions donnée a été mise à jour. Voici la réponse "
            f"à jour :\n\n{entry.answer}")[:MAX_MESSAGE_CHARS]


def send(*, session: Session, entry_id: int, actor: str, message: str) -> list[EntryCorrection]:
    """Send a correction to every asker concerned and not yet told, through the outbox."""
    text = clean(message)
    if not text:
        raise InvalidInput("Le message de correction est vide.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"Le message de correction dépasse {MAX_MESSAGE_CHARS} caractères.")
    current = state(session=session, entry_id=entry_id)
    pending = current.pending
    if not pending:
        raise Conflict("Aucun demandeur à prévenir : tous l'ont déjà été, ou aucun n'a reçu "
                       "l'ancienne réponse.")
    now = utcnow()
    sent: list[EntryCorrection] = []
    for recipient in pending:
        asker = session.get(Asker, recipient.asker_id)
        assert asker is not None
        chat_id = _chat(asker)
        assert chat_id is not None
        latest = recipient.tickets[-1]
        # The bot puts "Correction de la réponse à votre question n° …" above the body.
        if len(recipient.tickets) == 1:
            body = f"Votre question : « {_excerpt(latest.text)} »\n\n{text}"
        else:
            numbers = ", ".join(f"n° {t.id}" for t in recipient.tickets)
            body = (f"Vos questions {numbers} (la dernière : « {_excerpt(latest.text)} »)"
                    f"\n\n{text}")
        row = outbox.enqueue(session=session, kind=OutboxKind.CORRECTION, chat_id=chat_id,
                             text=body, created_by=actor, asker_id=asker.id,
                             ticket_id=latest.id)
        for ticket in recipient.tickets:
            session.add(TicketMessage(ticket_id=ticket.id, author=MessageAuthor.ADVISER.value,
                                      kind="correction", text=body, created_at=now))
        correction = EntryCorrection(entry_id=entry_id, revision=current.revision,
                                     retired=current.retired, asker_id=asker.id,
                                     ticket_id=latest.id, outbox_id=row.id, sent_by=actor,
                                     sent_at=now)
        session.add(correction)
        sent.append(correction)
    session.flush()
    audit.record(session=session, actor=actor, action="entry.correction", object_type="entry",
                 object_id=entry_id, details={"revision": current.revision,
                                              "retired": current.retired, "count": len(sent)})
    logger.info("correction of entry %s (revision %s) sent to %s askers by %s", entry_id,
                current.revision, len(sent), actor)
    return sent


def _excerpt(text: str, size: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1].rstrip() + "…"
