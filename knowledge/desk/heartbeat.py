"""Signs of life of background processes, so advisers know whether the bot sends anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from knowledge.store.desk_tables import ProcessHeartbeat
from knowledge.timeutil import utcnow

BOT_DELIVERY = "bot-delivery"
MAIL_DELIVERY = "mail-delivery"  # the mail worker (`svp mail`, or inside `svp serve`)
# The delivery job runs every few seconds; rewriting the row each time would only add writes.
WRITE_EVERY = timedelta(seconds=10)
STALE_AFTER = timedelta(seconds=90)


@dataclass(frozen=True)
class ProcessState:
    """Whether a process gave a sign of life recently, and when it last did."""

    name: str
    last_seen_at: datetime | None
    running: bool


def beat(*, session: Session, name: str = BOT_DELIVERY, detail: str | None = None,
         now: datetime | None = None) -> ProcessHeartbeat:
    """Record that a process is alive (at most one write every few seconds)."""
    now = now or utcnow()
    row = session.get(ProcessHeartbeat, name)
    if row is None:
        row = ProcessHeartbeat(name=name, last_seen_at=now, detail=detail)
        session.add(row)
    elif now - row.last_seen_at >= WRITE_EVERY or row.detail != detail:
        row.last_seen_at = now
        row.detail = detail
    return row


def state(*, session: Session, name: str = BOT_DELIVERY, now: datetime | None = None,
          stale_after: timedelta = STALE_AFTER) -> ProcessState:
    """Tell whether a process is running (a sign of life within `stale_after`)."""
    row = session.get(ProcessHeartbeat, name)
    if row is None:
        return ProcessState(name=name, last_seen_at=None, running=False)
    running = (now or utcnow()) - row.last_seen_at <= stale_after
    return ProcessState(name=name, last_seen_at=row.last_seen_at, running=running)
