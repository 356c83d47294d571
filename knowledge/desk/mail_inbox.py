"""The mail inbox: messages read over IMAP, committed before the server is told, processed once.

The reader (`mail/imap.py`) records each message here and commits *before* it flags or
moves it on the server; a crash in between finds the row on the next pass (`record` returns
None) and flags it then. Rows are keyed by mailbox, UIDVALIDITY and UID (unique: two readers
at once store a message once); a message whose Message-ID is already stored, under another
UID or another UIDVALIDITY, is kept as a duplicate, already processed. The processor takes
the pending rows in arrival order and marks each processed in the unit of work of whatever
it wrote, so a crash leaves both undone (the row is replayed) or both done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from knowledge.store.mail_models import MailInboxMessage
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5

# Outcomes the inbox itself gives; the processor writes its own ("question", "follow_up"...).
TOO_LARGE = "too_large"  # bigger than the reader's cap: raw not kept, never handed over
DUPLICATE = "duplicate"  # same Message-ID as a row already stored: never handed over
FAILED = "failed"  # given up after MAX_ATTEMPTS


@dataclass(frozen=True)
class PendingMail:
    """An unprocessed inbox row, copied out of its unit of work, for the processor."""

    id: int
    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str | None
    sender: str | None
    size: int
    raw: bytes
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class MailBacklog:
    """What waits: rows not processed (count, age of the oldest), rows not flagged yet."""

    pending: int
    oldest_seconds: float | None
    unflagged: int


def stored_uids(*, session: Session, mailbox: str, uidvalidity: int,
                uids: Sequence[int]) -> set[int]:
    """The UIDs among `uids` already stored for this mailbox and UIDVALIDITY."""
    found: set[int] = set()
    for start in range(0, len(uids), 500):  # bounded IN lists
        chunk = list(uids[start:start + 500])
        found.update(int(uid) for uid in session.scalars(
            select(MailInboxMessage.uid).where(MailInboxMessage.mailbox == mailbox,
                                               MailInboxMessage.uidvalidity == uidvalidity,
                                               MailInboxMessage.uid.in_(chunk))))
    return found


def record(*, session: Session, mailbox: str, uidvalidity: int, uid: int, raw: bytes,
           message_id: str | None, sender: str | None, size: int, outcome: str | None = None,
           now: datetime | None = None) -> int | None:
    """Store a message read from the server; its row id, or None if this UID is stored already.

    A row given an `outcome` (too large) is stored processed; so is a copy of a Message-ID
    already stored (outcome "duplicate"): neither is handed to the processor.
    """
    key = (MailInboxMessage.mailbox == mailbox, MailInboxMessage.uidvalidity == uidvalidity,
           MailInboxMessage.uid == uid)
    if session.scalar(select(MailInboxMessage.id).where(*key)) is not None:
        return None
    now = now or utcnow()
    if outcome is None and message_id:
        original = session.scalar(select(MailInboxMessage.id)
                                  .where(MailInboxMessage.message_id == message_id)
                                  .order_by(MailInboxMessage.id).limit(1))
        if original is not None:
            outcome = DUPLICATE
            logger.info("mail %s/%s/%s is a copy of inbox row %s (Message-ID %s)", mailbox,
                        uidvalidity, uid, original, message_id)
    row = MailInboxMessage(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid,
                           message_id=message_id, sender=sender, size=size, raw=raw,
                           received_at=now, attempts=0, outcome=outcome,
                           processed_at=now if outcome is not None else None)
    try:
        # A savepoint: another reader storing the same UID meanwhile must not undo the
        # rows this unit of work stored before this one.
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        logger.info("mail %s/%s/%s stored by another reader meanwhile", mailbox, uidvalidity,
                    uid)
        return None
    return row.id


def mark_flagged(*, session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int],
                 now: datetime | None = None) -> int:
    """Note that the server was told (flag or move) about these UIDs; how many rows changed."""
    changed = 0
    for start in range(0, len(uids), 500):
        result = session.execute(
            update(MailInboxMessage)
            .where(MailInboxMessage.mailbox == mailbox,
                   MailInboxMessage.uidvalidity == uidvalidity,
                   MailInboxMessage.uid.in_(list(uids[start:start + 500])),
                   MailInboxMessage.flagged_at.is_(None))
            .values(flagged_at=now or utcnow()).execution_options(synchronize_session=False))
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def next_pending(*, session: Session, limit: int = 1, after_id: int = 0,
                 now: datetime | None = None) -> list[PendingMail]:
    """Take the oldest unprocessed rows (arrival order), counting an attempt on each.

    The caller commits the attempt before processing, so a message that kills the process
    every time is given up after MAX_ATTEMPTS instead of blocking the inbox forever; take few
    rows at a time (a crash counts an attempt on each). `after_id` skips the rows a pass has
    already tried, so a failing row waits for the next pass.
    """
    taken: list[PendingMail] = []
    while len(taken) < limit:
        rows = list(session.scalars(
            select(MailInboxMessage).options(undefer(MailInboxMessage.raw))
            .where(MailInboxMessage.processed_at.is_(None), MailInboxMessage.id > after_id)
            .order_by(MailInboxMessage.id).limit(limit - len(taken))))
        if not rows:
            break
        for row in rows:
            after_id = row.id
            row.attempts = (row.attempts or 0) + 1
            if row.attempts > MAX_ATTEMPTS:
                row.processed_at = now or utcnow()
                row.outcome = FAILED
                row.last_error = f"abandonné après {MAX_ATTEMPTS} tentatives interrompues"
                logger.warning("mail inbox row %s given up after %s attempts", row.id,
                               MAX_ATTEMPTS)
                continue
            taken.append(PendingMail(id=row.id, mailbox=row.mailbox,
                                     uidvalidity=row.uidvalidity, uid=row.uid,
                                     message_id=row.message_id, sender=row.sender,
                                     size=row.size, raw=bytes(row.raw),
                                     received_at=row.received_at, attempts=row.attempts))
    session.flush()
    return taken


def mark_processed(*, session: Session, inbox_id: int, outcome: str,
                   ticket_id: int | None = None, now: datetime | None = None) -> bool:
    """Mark a row processed, in the unit of work of whatever it wrote; False if it already was.

    False means another worker processed it first: roll back what this one wrote.
    """
    result = session.execute(
        update(MailInboxMessage)
        .where(MailInboxMessage.id == inbox_id, MailInboxMessage.processed_at.is_(None))
        .values(processed_at=now or utcnow(), outcome=outcome[:32], ticket_id=ticket_id)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def record_failure(*, session: Session, inbox_id: int, error: str,
                   now: datetime | None = None) -> bool:
    """Keep why processing failed; give the row up (outcome "failed") after MAX_ATTEMPTS.

    True when the row was given up. Call it in a fresh unit of work, after rolling back the
    failed one; the attempt itself was counted by `next_pending`.
    """
    row = session.get(MailInboxMessage, inbox_id)
    if row is None or row.processed_at is not None:
        return False
    row.last_error = error[:2000]
    if (row.attempts or 0) >= MAX_ATTEMPTS:
        row.processed_at = now or utcnow()
        row.outcome = FAILED
        logger.warning("mail inbox row %s given up after %s attempts: %s", inbox_id,
                       row.attempts, error)
    session.flush()
    return row.outcome == FAILED


def backlog(*, session: Session, now: datetime | None = None) -> MailBacklog:
    """Count the rows not processed (and the age of the oldest) and those not flagged yet."""
    now = now or utcnow()
    pending, oldest = session.execute(
        select(func.count(MailInboxMessage.id), func.min(MailInboxMessage.received_at))
        .where(MailInboxMessage.processed_at.is_(None))).one()
    unflagged = session.scalar(select(func.count(MailInboxMessage.id))
                               .where(MailInboxMessage.flagged_at.is_(None)))
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:  # aggregates bypass the column type on some drivers
            oldest = oldest.replace(tzinfo=UTC)
        age = max((now - oldest).total_seconds(), 0.0)
    return MailBacklog(pending=int(pending or 0), oldest_seconds=age,
                       unflagged=int(unflagged or 0))
