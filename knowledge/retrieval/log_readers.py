"""Who has read the index change log how far, and pruning what every live reader has applied.

Each process notes its index's watermark after catching up (`note`). Pruning deletes only the
changes below the lowest watermark of the readers seen recently, and always keeps the change at
that watermark: a reader whose watermark lies below the oldest change kept (`has_gap`) missed
pruned changes and rebuilds its index from the stored vectors instead of catching up.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from knowledge.retrieval.embeddings import IndexChange, log_head
from knowledge.store.models import IndexReader
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

# A reader not seen for this long is presumed gone; if it comes back, it rebuilds.
READER_LIFETIME = timedelta(days=7)


def reader_name() -> str:
    """This process's name among the readers: host and process id."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}"


def note(*, session: Session, name: str, watermark: int, now: datetime | None = None) -> None:
    """Record how far a reader's index has applied the change log."""
    reader = session.get(IndexReader, name)
    if reader is None:
        session.add(IndexReader(name=name, watermark=watermark, seen_at=now or utcnow()))
    else:
        reader.watermark = watermark
        reader.seen_at = now or utcnow()
    session.flush()


def has_gap(*, session: Session | Connection, watermark: int) -> bool:
    """Tell whether changes after this watermark were pruned (the reader must rebuild)."""
    oldest = session.execute(select(func.min(IndexChange.seq))).scalar()
    return oldest is not None and int(oldest) > watermark + 1


def prune(*, session: Session, lifetime: timedelta = READER_LIFETIME,
          now: datetime | None = None) -> int:
    """Delete the changes every live reader has applied; forget readers gone for long."""
    now = now or utcnow()
    session.execute(delete(IndexReader).where(IndexReader.seen_at < now - lifetime))
    lowest = session.execute(select(func.min(IndexReader.watermark))).scalar()
    if lowest is None:  # nobody said how far they read: keep everything
        return 0
    bound = min(int(lowest), log_head(session=session).value)
    result = session.execute(delete(IndexChange).where(IndexChange.seq < bound))
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info("%s index change(s) below %s pruned (applied by every live reader)",
                    count, bound)
    return count
