"""Askers' subscription to the monthly digest, and its broadcast through the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog.digest import Digest, render_telegram
from knowledge.desk.outbox import enqueue
from knowledge.errors import Conflict
from knowledge.people.askers import get
from knowledge.store.models import Asker, AskerStatus, DigestSend, OutboxKind
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

# Telegram allows about 30 messages per second overall to different chats; the digest is
# scheduled below that so answers to questions still get through while it goes out.
BROADCAST_PER_SECOND = 20


@dataclass(frozen=True)
class BroadcastReport:
    """What a broadcast queued."""

    queued: int
    already_sent: int
    seconds: float  # how long the delivery job will take at the broadcast rate


def toggle(*, session: Session, asker_id: int) -> Asker:
    """Subscribe an approved asker to the digest, or unsubscribe them (`/abonnement`)."""
    asker = get(session=session, asker_id=asker_id)
    if asker.status != AskerStatus.APPROVED.value:
        raise Conflict("Votre inscription n'est pas validée.")
    asker.digest_subscribed = not asker.digest_subscribed
    audit.record(session=session, actor=f"asker:{asker.id}", action="asker.digest_subscription",
                 object_type="asker", object_id=asker.id)  # before/after added by the audit
    return asker


def subscribers(*, session: Session) -> list[Asker]:
    """Approved askers who subscribed and can be reached on Telegram."""
    return [asker for asker in session.scalars(
        select(Asker).where(Asker.digest_subscribed.is_(True),
                            Asker.status == AskerStatus.APPROVED.value).order_by(Asker.id))
            if asker.chat_id or asker.telegram_user_id]


def broadcast(*, session: Session, digest: Digest, actor: str,
              now: datetime | None = None) -> BroadcastReport:
    """Queue the digest once for every subscriber who has not received this month's yet."""
    now = now or utcnow()
    month = str(digest.month)
    done = set(session.scalars(select(DigestSend.asker_id).where(DigestSend.month == month)))
    text = render_telegram(digest)
    queued = already = 0
    for asker in subscribers(session=session):
        if asker.id in done:
            already += 1
            continue
        chat_id = asker.chat_id or asker.telegram_user_id
        assert chat_id is not None
        message = enqueue(session=session, kind=OutboxKind.DIGEST, chat_id=chat_id, text=text,
                          created_by=actor, asker_id=asker.id)
        # Spread the messages in time: the delivery job only takes rows that are due.
        message.next_attempt_at = now + timedelta(seconds=queued / BROADCAST_PER_SECOND)
        session.add(DigestSend(month=month, asker_id=asker.id, outbox_id=message.id,
                               sent_by=actor, created_at=now))
        queued += 1
    session.flush()
    audit.record(session=session, actor=actor, action="digest.broadcast", object_type="digest",
                 object_id=month, details={"queued": queued, "already_sent": already,
                                           "entries": [item.entry_id for item in digest.items]})
    logger.info("digest %s queued for %s subscriber(s) by %s (%s already served)", month,
                queued, actor, already)
    return BroadcastReport(queued=queued, already_sent=already,
                           seconds=queued / BROADCAST_PER_SECOND)
