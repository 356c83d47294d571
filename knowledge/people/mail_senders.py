"""Who wrote an email: an approved asker, one waiting for approval, a refused one, or nobody
the SVP knows (who gets one explanation a day, and nothing stored)."""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.people import askers, members, throttle
from knowledge.store.models import Asker, AskerStatus, Organisation
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

HELD = askers.HELD_MAIL  # a mail kept until its sender's access is approved
UNKNOWN_REPLY_MINUTES = 24 * 60  # one explanation per address and per day


class SenderKind(enum.StrEnum):
    """Who an address is, for the desk."""

    ASKER = "asker"  # an approved asker: their mail is a question or a follow-up
    PENDING = "pending"  # known, waiting for an adviser's approval: kept until then
    BLOCKED = "blocked"  # refused by an adviser: nothing is answered
    UNKNOWN = "unknown"  # no member: one explanation a day, nothing stored


@dataclass(frozen=True)
class Sender:
    """The asker behind an address, and what they may do."""

    kind: SenderKind
    asker_id: int | None = None
    created: bool = False  # a pending asker made now, from a declared domain


def identify_sender(*, session: Session, address: str) -> Sender:
    """The asker an address is: registered by invitation or by the bot, or of a declared domain.

    An address of a declared domain that no asker has yet becomes a pending asker of that
    organisation: an adviser approves it, as a Telegram registration.
    """
    if not address:
        return Sender(kind=SenderKind.UNKNOWN)
    rows = list(session.scalars(
        select(Asker).join(Organisation, Asker.organisation_id == Organisation.id)
        .where(func.lower(Asker.email) == address, Organisation.active.is_(True))
        .order_by(Asker.id)))
    for status, kind in ((AskerStatus.APPROVED, SenderKind.ASKER),
                         (AskerStatus.PENDING, SenderKind.PENDING),
                         (AskerStatus.BLOCKED, SenderKind.BLOCKED)):
        found = next((row for row in rows if row.status == status.value), None)
        if found is not None:
            return Sender(kind=kind, asker_id=found.id)
    member = members.identify(session=session, email=address)
    if member is None:
        return Sender(kind=SenderKind.UNKNOWN)
    now = utcnow()
    asker = Asker(email=address, organisation_id=member.organisation_id,
                  status=AskerStatus.PENDING.value, created_at=now)
    session.add(asker)
    session.flush()
    audit.record(session=session, actor=f"email:{address}", action="asker.register",
                 object_type="asker", object_id=asker.id,
                 details={"organisation_id": member.organisation_id, "channel": "email"})
    logger.info("asker %s registered (pending) by email for organisation %s", asker.id,
                member.organisation_id)
    return Sender(kind=SenderKind.PENDING, asker_id=asker.id, created=True)


def unknown_reply_due(*, session: Session, address: str, now: datetime | None = None) -> bool:
    """Whether an unknown address gets its explanation now (once a day; the key is a hash)."""
    key = "mail-unknown:" + hashlib.sha256(address.encode("utf-8")).hexdigest()[:40]
    return throttle.count(session=session, key=key, window_minutes=UNKNOWN_REPLY_MINUTES,
                          now=now) <= 1
