"""The Telegram inbox: updates committed before Telegram may forget them, processed once, in order.

The bot records every update here first (polling: before the next `getUpdates` offset confirms
it; webhook: before answering 200), then processes the rows in arrival order. A handler that
writes marks its update processed in the same transaction, so a crash either leaves both
undone (the update is replayed) or both done (it is not). Done rows are pruned after a
retention period.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from knowledge.store.models import (
    GroupNotice,
    InboxUpdate,
    Outbox,
    OutboxChannel,
    OutboxStatus,
)
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Arrival:
    """An update as received from Telegram, with what the inbox indexes."""

    update_id: int
    chat_id: int | None
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class PendingUpdate:
    """An unprocessed inbox row, copied out of its unit of work."""

    id: int
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Backlog:
    """What waits: unprocessed updates (count, age of the oldest) and unsent messages."""

    inbox_pending: int
    inbox_oldest_seconds: float | None
    outbox_pending: int
    outbox_oldest_seconds: float | None
    # The email rows, sent by the mail worker, apart: a stopped `svp mail` is not a silent bot.
    mail_pending: int = 0
    mail_oldest_seconds: float | None = None


def record(*, session: Session, arrivals: Sequence[Arrival],
           now: datetime | None = None) -> list[int]:
    """Store the updates not seen yet; return the update ids that were new (duplicates ignored)."""
    ids = [arrival.update_id for arrival in arrivals]
    if not ids:
        return []
    seen = set(session.scalars(select(InboxUpdate.update_id)
                               .where(InboxUpdate.update_id.in_(ids))))
    now = now or utcnow()
    new: list[int] = []
    for arrival in arrivals:
        if arrival.update_id in seen:
            continue
        seen.add(arrival.update_id)
        session.add(InboxUpdate(update_id=arrival.update_id, chat_id=arrival.chat_id,
                                kind=arrival.kind, payload=arrival.payload, received_at=now,
                                attempts=0))
        new.append(arrival.update_id)
    session.flush()
    if len(new) < len(ids):
        logger.info("%s update(s) already in the inbox ignored", len(ids) - len(new))
    return new


def claim_next(*, session: Session, after_id: int = 0,
               now: datetime | None = None) -> PendingUpdate | None:
    """Take the oldest unprocessed update (arrival order, so per-chat order), counting an attempt.

    The attempt is committed before processing, so an update that kills the process every
    time is given up after MAX_ATTEMPTS instead of blocking the inbox forever.
    """
    while True:
        row = session.scalars(
            select(InboxUpdate).where(InboxUpdate.processed_at.is_(None),
                                      InboxUpdate.id > after_id)
            .order_by(InboxUpdate.id).limit(1)).first()
        if row is None:
            return None
        row.attempts = (row.attempts or 0) + 1
        if row.attempts <= MAX_ATTEMPTS:
            session.flush()
            return PendingUpdate(id=row.id, update_id=row.update_id, chat_id=row.chat_id,
                                 payload=dict(row.payload), attempts=row.attempts)
        row.processed_at = now or utcnow()
        row.last_error = f"abandonné après {MAX_ATTEMPTS} tentatives interrompues"
        logger.warning("inbox update %s given up after %s attempts", row.update_id,
                       MAX_ATTEMPTS)
        after_id = row.id


def mark_done(*, session: Session, update_id: int, error: str | None = None,
              now: datetime | None = None) -> None:
    """Mark an update processed (in the unit of work of whatever it wrote)."""
    values: dict[str, Any] = {"processed_at": now or utcnow()}
    if error is not None:
        values["last_error"] = error[:2000]
    session.execute(update(InboxUpdate).where(InboxUpdate.update_id == update_id,
                                              InboxUpdate.processed_at.is_(None))
                    .values(**values))


def tell_group_once(*, session: Session, chat_id: int, now: datetime | None = None) -> bool:
    """Remember that a group was told the bot serves private chats; False if it already was."""
    if session.get(GroupNotice, chat_id) is not None:
        return False
    session.add(GroupNotice(chat_id=chat_id, told_at=now or utcnow()))
    session.flush()
    return True


def prune(*, session: Session, retention: timedelta, now: datetime | None = None) -> int:
    """Delete the processed updates older than the retention period; return how many."""
    limit = (now or utcnow()) - retention
    result = session.execute(delete(InboxUpdate).where(InboxUpdate.processed_at.is_not(None),
                                                       InboxUpdate.processed_at < limit))
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info("%s processed inbox update(s) older than %s pruned", count, limit)
    return count


def backlog(*, session: Session, now: datetime | None = None) -> Backlog:
    """Count what waits in the inbox and the outbox, and how long the oldest has waited."""
    now = now or utcnow()
    inbox_count, inbox_oldest = session.execute(
        select(func.count(InboxUpdate.id), func.min(InboxUpdate.received_at))
        .where(InboxUpdate.processed_at.is_(None))).one()
    waiting = {channel: (int(count or 0), oldest) for channel, count, oldest in session.execute(
        select(Outbox.channel, func.count(Outbox.id), func.min(Outbox.created_at))
        .where(Outbox.status == OutboxStatus.PENDING.value).group_by(Outbox.channel))}
    telegram_count, telegram_oldest = waiting.get(OutboxChannel.TELEGRAM.value, (0, None))
    mail_count, mail_oldest = waiting.get(OutboxChannel.EMAIL.value, (0, None))
    return Backlog(inbox_pending=int(inbox_count or 0),
                   inbox_oldest_seconds=_age(inbox_oldest, now),
                   outbox_pending=telegram_count,
                   outbox_oldest_seconds=_age(telegram_oldest, now),
                   mail_pending=mail_count, mail_oldest_seconds=_age(mail_oldest, now))


def _age(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # aggregates bypass the column type on some drivers
        moment = moment.replace(tzinfo=UTC)
    return max((now - moment).total_seconds(), 0.0)
