"""The JSON API's calls per key (a token's hash) and minute, counted in the database.

A sliding window: a call is admitted when fewer than the limit were admitted in the last
minute. The count lives in the database so that every web worker sees the calls the others
admitted. Calls of one key are serialised while they are counted (a transaction-scoped
advisory lock on PostgreSQL; SQLite's writes are serialised already by BEGIN IMMEDIATE), so
parallel calls spread over several workers never admit more than the limit.
"""

from __future__ import annotations

import hashlib
import random

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from knowledge.store.api_models import ApiRateCall

WINDOW_SECONDS = 60.0
# The share of calls that also forget every key's expired calls (keys never seen again,
# such as unknown tokens sent once, would otherwise stay).
_SWEEP_SHARE = 0.01


def admit(*, session: Session, key: str, per_minute: int, now: float) -> float:
    """Count a call of a key at `now` (epoch seconds): 0 when admitted, else seconds to wait."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _lock_id(key)})
    since = now - WINDOW_SECONDS
    session.execute(delete(ApiRateCall).where(ApiRateCall.key == key, ApiRateCall.at <= since))
    count, oldest = session.execute(
        select(func.count(ApiRateCall.id), func.min(ApiRateCall.at))
        .where(ApiRateCall.key == key)).one()
    if count >= per_minute:
        return max(float(oldest) + WINDOW_SECONDS - now, 0.001)
    session.add(ApiRateCall(key=key, at=now))
    if random.random() < _SWEEP_SHARE:
        sweep(session=session, now=now)
    return 0.0


def sweep(*, session: Session, now: float) -> int:
    """Forget the calls of every key that fell out of the window; return how many."""
    result = session.execute(delete(ApiRateCall).where(ApiRateCall.at <= now - WINDOW_SECONDS))
    return int(getattr(result, "rowcount", 0) or 0)


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id of the key, in a space of its own."""
    digest = hashlib.sha256(b"svp-api-rate:" + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
