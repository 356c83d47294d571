"""Retention of personal data: how long each kind is kept, and the purge that applies it.

Each category has a limit (see `RetentionPolicy` and docs/rgpd.md). The purge is idempotent:
a row it changed no longer matches, so running it twice, or from two processes, changes
nothing more. A dry run counts what a purge would change, per category, and writes nothing.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import attachments
from knowledge.people import members
from knowledge.people.scrubbing import Scrubber, identifiers_of, scrub_phrasing
from knowledge.store.catalog_models import EntryCorrection
from knowledge.store.desk_tables import ProcessHeartbeat
from knowledge.store.login_security import LoginThrottle
from knowledge.store.mail_models import Attachment, MailInboxMessage
from knowledge.store.member_models import MemberLink, MemberSession
from knowledge.store.models import (
    AuditEvent,
    InboxUpdate,
    LoginAttempt,
    Outbox,
    OutboxStatus,
    Ticket,
    TicketMessage,
    TicketStatus,
    WebSession,
)
from knowledge.store.vocabulary import EntryPhrasing
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

# Marker an audit event's details carry once redacted; migration 0011 lets an UPDATE of
# `audit_events` through only when it sets this marker (and leaves who/what/when alone).
REDACTED = "redacted"
DAILY = "retention-purge"  # heartbeat row: when the daily purge last ran
_CHUNK = 500  # tickets anonymised per round of queries (and ids per IN list)
CLOSED = (TicketStatus.ANSWERED.value, TicketStatus.SELF_SERVED.value,
          TicketStatus.REJECTED.value)

CATEGORIES: dict[str, str] = {
    "tickets": "Questions closes anonymisées",
    "attachments": "Fichiers des questions closes supprimés",
    "outbox": "Messages envoyés dont le texte est effacé",
    "inbox": "Mises à jour Telegram traitées supprimées",
    "mail_inbox": "Courriels reçus traités supprimés",
    "audit": "Détails du journal d'audit effacés",
    "sessions": "Sessions terminées supprimées",
    "login_attempts": "Tentatives de connexion supprimées",
    "login_throttles": "Compteurs d'échecs de connexion supprimés",
    "member_access": "Liens et sessions du centre d'aide terminés supprimés",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each category of personal data is kept (defaults: docs/rgpd.md)."""

    ticket_months: int = 24
    outbox_days: int = 90
    inbox_days: int = 30
    audit_details_months: int = 36
    sessions_days: int = 30


@dataclass(frozen=True)
class PurgeReport:
    """What a purge changed (or, in a dry run, would change), per category."""

    counts: dict[str, int]
    dry_run: bool

    @property
    def total(self) -> int:
        """Rows changed in all categories."""
        return sum(self.counts.values())


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (end of month when shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _count(session: Session, model: Any, *conditions: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _closed_before(limit: datetime) -> list[ColumnElement[bool]]:
    return [Ticket.status.in_(CLOSED),
            func.coalesce(Ticket.answered_at, Ticket.updated_at) < limit,
            or_(Ticket.asker_id.is_not(None), Ticket.telegram_chat_id.is_not(None))]


def _outbox_done_before(limit: datetime) -> list[ColumnElement[bool]]:
    return [Outbox.status.in_((OutboxStatus.SENT.value, OutboxStatus.FAILED.value)),
            func.coalesce(Outbox.sent_at, Outbox.created_at) < limit, Outbox.text != ""]


def _ended_sessions(limit: datetime) -> ColumnElement[bool]:
    return or_(WebSession.expires_at < limit,
               (WebSession.revoked_at.is_not(None)) & (WebSession.revoked_at < limit))


def _audit_to_redact(session: Session, limit: datetime) -> list[AuditEvent]:
    # Details are JSON: "not yet redacted" is told in Python (the log is small: a few
    # thousand events a year), so the same test serves SQLite and PostgreSQL.
    events = session.scalars(select(AuditEvent).where(AuditEvent.at < limit)
                             .order_by(AuditEvent.id))
    return [event for event in events if event.details and REDACTED not in event.details]


def _anonymise_tickets(session: Session, tickets: list[Ticket]) -> None:
    """Cut closed tickets from their askers: link, chat, names in their texts; the Q&A stays."""
    scrubbers: dict[int | None, Scrubber] = {}
    for start in range(0, len(tickets), _CHUNK):
        chunk = tickets[start:start + _CHUNK]
        by_ticket: dict[int, Scrubber] = {}
        for ticket in chunk:
            if ticket.asker_id not in scrubbers:
                scrubbers[ticket.asker_id] = Scrubber(
                    identifiers_of(ticket.asker) if ticket.asker is not None else [])
            by_ticket[ticket.id] = scrubbers[ticket.asker_id]
        ids = list(by_ticket)
        for message in session.scalars(select(TicketMessage)
                                       .where(TicketMessage.ticket_id.in_(ids))):
            message.text = by_ticket[message.ticket_id].text(message.text)
            message.telegram_message_id = None
        for phrasing in session.scalars(select(EntryPhrasing)
                                        .where(EntryPhrasing.ticket_id.in_(ids))):
            scrub_phrasing(session=session, phrasing=phrasing,
                           scrubber=by_ticket[phrasing.ticket_id or 0], embedder=None)
        for ticket in chunk:
            scrubber = by_ticket[ticket.id]
            ticket.text = scrubber.text(ticket.text)
            ticket.feedback_comment = scrubber.optional(ticket.feedback_comment)
            ticket.draft = scrubber.value(ticket.draft) if ticket.draft else ticket.draft
            ticket.asker_id = None
            ticket.telegram_chat_id = None
            ticket.telegram_message_id = None
        session.execute(update(EntryCorrection).where(EntryCorrection.ticket_id.in_(ids))
                        .values(asker_id=None))
        # The files are the asker's, and may name anyone: the thread keeps their names only
        # in its text ("Document joint : ..."), scrubbed above; their bytes go with the link.
        attachments.delete_for_tickets(session=session, ticket_ids=ids)
        # Their messages are all delivered or given up (the tickets are closed): what they
        # said is in the thread; the rows only held chat ids and copies.
        session.execute(delete(Outbox).where(Outbox.ticket_id.in_(ids),
                                             Outbox.status != OutboxStatus.PENDING.value))
        session.flush()


def purge(*, session: Session, policy: RetentionPolicy, actor: str, dry_run: bool = False,
          now: datetime | None = None) -> PurgeReport:
    """Apply the retention limits (or, in a dry run, count what they would change)."""
    now = now or utcnow()
    ticket_limit = months_before(now, policy.ticket_months)
    outbox_limit = now - timedelta(days=policy.outbox_days)
    inbox_limit = now - timedelta(days=policy.inbox_days)
    audit_limit = months_before(now, policy.audit_details_months)
    session_limit = now - timedelta(days=policy.sessions_days)
    inbox_done = [InboxUpdate.processed_at.is_not(None), InboxUpdate.processed_at < inbox_limit]
    # Received mail is kept as long as Telegram updates: its only use is replaying it. Its
    # row going does not let the reader take it again: the server marked or moved it within
    # seconds of storing it, long before.
    mail_done = [MailInboxMessage.processed_at.is_not(None),
                 MailInboxMessage.processed_at < inbox_limit]
    audit_events = _audit_to_redact(session, audit_limit)
    counts = {
        "tickets": _count(session, Ticket, *_closed_before(ticket_limit)),
        "attachments": _count(session, Attachment, Attachment.ticket_id.in_(
            select(Ticket.id).where(*_closed_before(ticket_limit)))),
        "outbox": _count(session, Outbox, *_outbox_done_before(outbox_limit)),
        "inbox": _count(session, InboxUpdate, *inbox_done),
        "mail_inbox": _count(session, MailInboxMessage, *mail_done),
        "audit": len(audit_events),
        "sessions": _count(session, WebSession, _ended_sessions(session_limit)),
        "login_attempts": _count(session, LoginAttempt, LoginAttempt.at < session_limit),
        "login_throttles": _count(session, LoginThrottle,
                                  LoginThrottle.last_failure_at < session_limit),
        "member_access": (_count(session, MemberLink, MemberLink.expires_at < session_limit)
                          + _count(session, MemberSession,
                                   MemberSession.expires_at < session_limit)),
    }
    if dry_run:
        return PurgeReport(counts=counts, dry_run=True)
    _anonymise_tickets(session, list(session.scalars(
        select(Ticket).where(*_closed_before(ticket_limit)).order_by(Ticket.id))))
    session.execute(update(Outbox).where(*_outbox_done_before(outbox_limit))
                    .values(text="", buttons=[], email_to=None, subject=None))
    session.execute(delete(InboxUpdate).where(*inbox_done))
    session.execute(delete(MailInboxMessage).where(*mail_done))
    for event in audit_events:
        event.details = {REDACTED: True}
    session.execute(delete(WebSession).where(_ended_sessions(session_limit)))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < session_limit))
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < session_limit))
    members.purge(session=session, older_than=session_limit)
    report = PurgeReport(counts=counts, dry_run=False)
    if report.total:
        session.flush()  # the redacted events first: the purge's own event is not redacted
        audit.record(session=session, actor=actor, action="privacy.purge",
                     object_type="privacy", details={"counts": counts})
    logger.info("retention purge by %s: %s", actor,
                ", ".join(f"{name} {count}" for name, count in counts.items()))
    return report


def purge_if_due(*, session: Session, policy: RetentionPolicy, actor: str,
                 every: timedelta = timedelta(days=1),
                 now: datetime | None = None) -> PurgeReport | None:
    """Run the purge when the last one (by any process) is older than `every`; else None."""
    now = now or utcnow()
    if not _claim_daily_purge(session=session, now=now, every=every):
        return None
    return purge(session=session, policy=policy, actor=actor, now=now)


def _claim_daily_purge(*, session: Session, now: datetime, every: timedelta) -> bool:
    """Take the due purge for this process; False when another one has it (or had it)."""
    # A conditional UPDATE: of two web workers started together, the second waits for the
    # first's row lock, then finds the date recent and leaves the purge to it.
    claimed = session.execute(
        update(ProcessHeartbeat)
        .where(ProcessHeartbeat.name == DAILY, ProcessHeartbeat.last_seen_at <= now - every)
        .values(last_seen_at=now).execution_options(synchronize_session=False))
    if getattr(claimed, "rowcount", 0):
        return True
    if session.get(ProcessHeartbeat, DAILY) is not None:
        return False
    try:
        with session.begin_nested():  # the first purge ever: two processes may both insert
            session.add(ProcessHeartbeat(name=DAILY, last_seen_at=now, detail="purge"))
    except IntegrityError:
        return False
    return True
