"""The outbox: written by whoever decides to send, drained by each channel's delivery job.

Telegram rows go out through the bot, email rows through the mail worker (`mail/`); each job
claims only its own channel's rows, under the same lease, retry and failure rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.errors import NotFound
from knowledge.store.models import Outbox, OutboxChannel, OutboxKind, OutboxStatus
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, copied out of its unit of work for the sender."""

    id: int
    kind: str
    chat_id: int
    ticket_id: int | None
    text: str
    buttons: list[Any]
    attempts: int
    sent_message_ids: tuple[int, ...]
    formatted: bool = False  # light markup to render (knowledge.desk.formatting)
    channel: str = OutboxChannel.TELEGRAM.value
    email_to: str | None = None
    subject: str | None = None
    mail_message_id: str | None = None
    # Files sent after the text (Telegram documents, email attachments), by attachment id.
    attachment_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, row: Outbox) -> OutboxItem:
        """Copy what the sender needs out of a row."""
        return cls(id=row.id, kind=row.kind, chat_id=row.chat_id or 0, ticket_id=row.ticket_id,
                   text=row.text, buttons=list(row.buttons or []), attempts=row.attempts,
                   sent_message_ids=tuple(row.telegram_message_ids or ()),
                   formatted=bool(row.formatted), channel=row.channel, email_to=row.email_to,
                   subject=row.subject, mail_message_id=row.mail_message_id,
                   attachment_ids=tuple(row.attachment_ids or ()))


def enqueue(
    *,
    session: Session,
    kind: OutboxKind,
    chat_id: int,
    text: str,
    created_by: str,
    asker_id: int | None = None,
    user_id: int | None = None,
    ticket_id: int | None = None,
    buttons: list[Any] | None = None,
    in_hand: timedelta | None = None,
    formatted: bool = False,
) -> Outbox:
    """Add a message to send; it is delivered after the unit of work commits.

    `text` is plain text: the bot escapes it for Telegram HTML when sending (a receipt is
    already Telegram HTML); with `formatted`, its light markup (knowledge.desk.formatting)
    becomes bold, italics and links. With `in_hand`, the row is created claimed by the caller,
    who sends it right after the commit; if the caller dies first, the delivery job takes it
    once that lease has expired.
    """
    now = utcnow()
    message = Outbox(
        kind=kind.value,
        chat_id=chat_id,
        asker_id=asker_id,
        user_id=user_id,
        ticket_id=ticket_id,
        text=text,
        formatted=formatted,
        buttons=buttons or [],
        status=OutboxStatus.PENDING.value,
        attempts=1 if in_hand is not None else 0,
        next_attempt_at=now + in_hand if in_hand is not None else now,
        created_by=created_by,
        created_at=now,
    )
    session.add(message)
    session.flush()
    logger.info("outbox %s (%s) queued for chat %s by %s", message.id, kind.value, chat_id,
                created_by)
    return message


def enqueue_email(
    *,
    session: Session,
    kind: OutboxKind,
    to: str,
    subject: str,
    text: str,
    created_by: str,
    asker_id: int | None = None,
    user_id: int | None = None,
    ticket_id: int | None = None,
    formatted: bool = False,
) -> Outbox:
    """Add an email to send by the mail worker after the unit of work commits.

    The mail worker draws its Message-ID when it first claims the row and keeps it, so that a
    message sent again after a crash is the same message to the reader's client.
    """
    now = utcnow()
    message = Outbox(
        kind=kind.value, channel=OutboxChannel.EMAIL.value, chat_id=None, email_to=to,
        subject=subject[:300],
        asker_id=asker_id, user_id=user_id, ticket_id=ticket_id, text=text,
        formatted=formatted, buttons=[], status=OutboxStatus.PENDING.value, attempts=0,
        next_attempt_at=now, created_by=created_by, created_at=now)
    session.add(message)
    session.flush()
    logger.info("outbox %s (%s) queued by email by %s", message.id, kind.value, created_by)
    return message


# --- delivery (each channel's job) ----------------------------------------------------------------
#
# Guarantee: a row is claimed (attempts + 1, next_attempt_at pushed by a lease) and committed
# BEFORE anything is sent; each Telegram message id is committed as soon as Telegram accepted
# that part; the row is marked sent after its last part. A crash between Telegram accepting a
# part and that commit leaves the part unrecorded, so it is sent again once the lease expires:
# at most one duplicate part per crash, never a lost message.

CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
_BACKOFF_BASE_SECONDS = 5.0
_BACKOFF_MAX_SECONDS = 3_600.0


def claim_due(*, session: Session, now: datetime | None = None, limit: int = 20,
              lease: timedelta = CLAIM_LEASE,
              channel: OutboxChannel = OutboxChannel.TELEGRAM) -> list[Outbox]:
    """Take a channel's pending messages that are due, leased so no other process sends them."""
    now = now or utcnow()
    query = (
        select(Outbox)
        .where(Outbox.channel == channel.value, Outbox.status == OutboxStatus.PENDING.value,
               Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        row.next_attempt_at = now + lease
    session.flush()
    return rows


def get(*, session: Session, outbox_id: int) -> Outbox:
    """Return an outbox row or raise NotFound."""
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise NotFound("outbox", outbox_id)
    return row


def record_part_sent(*, session: Session, outbox_id: int, telegram_message_id: int,
                     last: bool = False) -> Outbox:
    """Remember that Telegram accepted one more part of a message (the last one: it is sent)."""
    row = get(session=session, outbox_id=outbox_id)
    row.telegram_message_ids = [*(row.telegram_message_ids or []), telegram_message_id]
    if last:
        return mark_sent(session=session, outbox_id=outbox_id)
    return row


def mark_sent(*, session: Session, outbox_id: int, now: datetime | None = None) -> Outbox:
    """Mark a message delivered (all its parts accepted by Telegram)."""
    row = get(session=session, outbox_id=outbox_id)
    row.status = OutboxStatus.SENT.value
    row.sent_at = now or utcnow()
    row.last_error = None
    logger.info("outbox %s sent to %s %s (%s part(s))", row.id, row.channel,
                row.chat_id if row.email_to is None else "by email",
                len(row.telegram_message_ids or []))
    return row


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones (exponential, capped)."""
    seconds = _BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, _BACKOFF_MAX_SECONDS))


def schedule_retry(*, session: Session, outbox_id: int, error: str,
                   delay: timedelta | None = None, now: datetime | None = None) -> Outbox:
    """Try a message again later (after `delay`, or an exponential backoff); fail it at the cap."""
    row = get(session=session, outbox_id=outbox_id)
    if row.attempts >= MAX_ATTEMPTS:
        return mark_failed(session=session, outbox_id=outbox_id,
                           reason=f"abandon après {row.attempts} tentatives : {error}")
    row.last_error = error
    row.next_attempt_at = (now or utcnow()) + (delay if delay is not None
                                               else backoff(row.attempts))
    logger.warning("outbox %s attempt %s failed (%s); next at %s", row.id, row.attempts, error,
                   row.next_attempt_at)
    return row


def release(*, session: Session, outbox_id: int, not_before: datetime) -> Outbox:
    """Give back a claimed row that was not tried (e.g. Telegram asked to slow down)."""
    row = get(session=session, outbox_id=outbox_id)
    row.attempts = max((row.attempts or 0) - 1, 0)
    row.next_attempt_at = not_before
    return row


def mark_failed(*, session: Session, outbox_id: int, reason: str) -> Outbox:
    """Give up on a message; the reason is shown to advisers."""
    row = get(session=session, outbox_id=outbox_id)
    row.status = OutboxStatus.FAILED.value
    row.last_error = reason
    logger.warning("outbox %s failed: %s", row.id, reason)
    return row


def find_by_sent_message(*, session: Session, chat_id: int, telegram_message_id: int,
                         kind: OutboxKind | None = None) -> Outbox | None:
    """Return the outbox row whose delivery produced this Telegram message, if any."""
    query = select(Outbox).where(Outbox.chat_id == chat_id).order_by(Outbox.id.desc())
    if kind is not None:
        query = query.where(Outbox.kind == kind.value)
    # Message ids are a JSON list; few rows per chat, so the membership test is done here.
    for row in session.scalars(query):
        if telegram_message_id in (row.telegram_message_ids or []):
            return row
    return None


def list_for_ticket(*, session: Session, ticket_id: int) -> list[Outbox]:
    """Return the messages of a ticket, oldest first."""
    return list(session.scalars(
        select(Outbox).where(Outbox.ticket_id == ticket_id).order_by(Outbox.id)))
