"""Throttling of secret checks (password, second factor) without letting anyone lock an owner out.

Three counters of failures in a sliding window:
- per (account, address): after `per_account_address` failures, that pair is refused for the
  rest of the window; the owner, from their own address, is not affected;
- per address: after `per_ip` failures, the address is refused, whatever the account;
- per account, from every address: never refuses, only slows down (a delay that doubles with
  each failure beyond `delay_after`, capped), so a distributed guesser gets few tries per minute
  while the owner still logs in.

An attempt is reserved (counted as a failure) *before* the secret is checked, with an atomic
upsert that returns the new count: parallel attempts each see a distinct count, so no more than
the limit are ever checked, on PostgreSQL as on SQLite. A success gives the reservation back.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from knowledge.errors import DomainError
from knowledge.store.db import UtcDateTime
from knowledge.store.login_security import LoginThrottle
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)


class TooManyAttempts(DomainError):
    """Too many failed checks from this address (for this account or any): wait."""


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are tolerated in a window, and how the account-wide delay grows."""

    per_account_address: int = 5
    per_ip: int = 20
    window_minutes: int = 15
    delay_after: int = 3
    delay_base_seconds: float = 1.0
    delay_max_seconds: float = 10.0


def _login_key(login: str) -> str:
    return clean(login).lower()[:100]


def _pair_key(login: str, ip: str) -> str:
    return f"pair:{_login_key(login)}|{ip[:64]}"


def _ip_key(ip: str) -> str:
    return f"ip:{ip[:64]}"


def _account_key(login: str) -> str:
    return f"account:{_login_key(login)}"


def _bump(session: Session, key: str, window: timedelta, now: datetime) -> int:
    """Add one failure under a key in one atomic statement; return the count in the window."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stamp = literal(now, type_=UtcDateTime())
    expired = LoginThrottle.window_started_at < literal(now - window, type_=UtcDateTime())
    statement = insert(LoginThrottle).values(
        key=key, failures=1, window_started_at=now, last_failure_at=now,
    ).on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={"failures": case((expired, 1), else_=LoginThrottle.failures + 1),
              "window_started_at": case((expired, stamp), else_=LoginThrottle.window_started_at),
              "last_failure_at": stamp},
    ).returning(LoginThrottle.failures)
    return int(session.execute(statement).scalar_one())


def count(*, session: Session, key: str, window_minutes: int,
          now: datetime | None = None) -> int:
    """Count one more request under a key (atomically); return the count in the window."""
    return _bump(session, key[:200], timedelta(minutes=window_minutes), now or utcnow())


def reserve(*, session: Session, login: str, ip: str, limits: LoginLimits,
            now: datetime | None = None) -> None:
    """Count an attempt before checking its secret; raise TooManyAttempts over a limit.

    The caller commits right after, so parallel attempts see the reservation.
    """
    now = now or utcnow()
    window = timedelta(minutes=limits.window_minutes)
    by_ip = _bump(session, _ip_key(ip), window, now)
    by_pair = _bump(session, _pair_key(login, ip), window, now)
    if by_ip > limits.per_ip or by_pair > limits.per_account_address:
        # A fingerprint, not the login typed (it may be an e-mail, or a misplaced password).
        logger.warning("attempt refused for login #%s from %s: too many failures",
                       hashlib.sha256(_login_key(login).encode()).hexdigest()[:8], ip)
        raise TooManyAttempts(
            "Trop de tentatives échouées depuis votre adresse. Veuillez patienter "
            f"{limits.window_minutes} minutes avant de réessayer.")


def release(*, session: Session, login: str, ip: str) -> None:
    """Give back a reservation after a success: the pair starts afresh, the address gets one."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == _pair_key(login, ip)))
    session.execute(update(LoginThrottle).where(
        LoginThrottle.key == _ip_key(ip), LoginThrottle.failures > 0,
    ).values(failures=LoginThrottle.failures - 1))


def note_account_failure(*, session: Session, login: str, limits: LoginLimits,
                         now: datetime | None = None) -> int:
    """Count a failure against the account from any address; return the count in the window."""
    return _bump(session, _account_key(login), timedelta(minutes=limits.window_minutes),
                 now or utcnow())


def account_delay(*, session: Session, login: str, limits: LoginLimits,
                  now: datetime | None = None) -> float:
    """Seconds to wait before checking a secret of this account (0 when few failures)."""
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.key == _account_key(login)))
    now = now or utcnow()
    if row is None or row.window_started_at < now - timedelta(minutes=limits.window_minutes):
        return 0.0
    beyond = row.failures - limits.delay_after
    if beyond < 0:
        return 0.0
    return float(min(limits.delay_max_seconds, limits.delay_base_seconds * 2 ** min(beyond, 30)))


def purge(*, session: Session, older_than: datetime) -> int:
    """Delete counters whose last failure is older than a date; return how many."""
    result = session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
