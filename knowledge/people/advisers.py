"""Web admin accounts (advisers and admins): passwords, login, rate limits, sessions."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from knowledge.store.models import LoginAttempt, User, UserRole, WebSession
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
_LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
# Argon2id with argon2-cffi's RFC 9106 "low memory" defaults: sound and quick enough for a login.
_HASHER = PasswordHasher()
# A hash to verify against when the login is unknown, so both paths cost the same time.
_DUMMY_HASH = _HASHER.hash("svp-no-such-account")


class TooManyAttempts(DomainError):
    """Too many failed logins from this address or for this account: wait before retrying."""


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are tolerated in a sliding window, per address and per account."""

    per_ip: int = 20
    per_account: int = 5
    window_minutes: int = 15


def hash_password(password: str) -> str:
    """Return the Argon2id hash of a password."""
    return _HASHER.hash(password)


def check_password_strength(password: str) -> None:
    """Raise InvalidInput when a password is too short or too long."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"Le mot de passe dépasse {MAX_PASSWORD_CHARS} caractères.")


def normalise_login(login: str) -> str:
    """Return a login in its stored form (trimmed, lower-case); raise InvalidInput if unusable."""
    value = clean(login).lower()
    if not _LOGIN_PATTERN.match(value):
        raise InvalidInput(
            "Identifiant invalide : 2 à 100 caractères parmi lettres minuscules, chiffres, "
            "point, tiret et souligné.")
    return value


def parse_role(value: str) -> UserRole:
    """Read a role name (adviser or admin); raise InvalidInput when unknown."""
    aliases = {"adviser": UserRole.ADVISER, "conseiller": UserRole.ADVISER,
               "admin": UserRole.ADMIN, "administrateur": UserRole.ADMIN}
    role = aliases.get(clean(value).lower())
    if role is None:
        raise InvalidInput(f"Rôle inconnu : « {value} » (valeurs : adviser, admin).")
    return role


def create(*, session: Session, login: str, password: str, role: UserRole,
           display_name: str | None = None, actor: str) -> User:
    """Create an account with an Argon2id password hash."""
    login = normalise_login(login)
    check_password_strength(password)
    if find_by_login(session=session, login=login) is not None:
        raise Conflict(f"Le compte « {login} » existe déjà.")
    now = utcnow()
    user = User(login=login, display_name=clean(display_name or "") or login, role=role.value,
                password_hash=hash_password(password), active=True, created_at=now,
                password_changed_at=now)
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, action="user.create", object_type="user",
                 object_id=user.id, details={"login": login, "role": role.value})
    logger.info("user %s (%s) created by %s", login, role.value, actor)
    return user


def get(*, session: Session, user_id: int) -> User:
    """Return an account by id or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def find_by_login(*, session: Session, login: str) -> User | None:
    """Return the account with this login, if any."""
    return session.scalar(select(User).where(User.login == clean(login).lower()))


def get_by_login(*, session: Session, login: str) -> User:
    """Return the account with this login or raise NotFound."""
    user = find_by_login(session=session, login=login)
    if user is None:
        raise NotFound("user", login)
    return user


def list_users(*, session: Session) -> list[User]:
    """List every account by login."""
    return list(session.scalars(select(User).order_by(User.login)))


def is_admin(user: User) -> bool:
    """Tell whether an account has the admin role."""
    return user.role == UserRole.ADMIN.value


def require_admin(user: User) -> None:
    """Raise Forbidden unless the account is an admin."""
    if not is_admin(user):
        raise Forbidden("Cette action est réservée aux administrateurs.")


def change_password(*, session: Session, user_id: int, new_password: str, actor: str,
                    current_password: str | None = None) -> User:
    """Set a new password and end every open session of the account.

    When `current_password` is given (self-service), it must match the stored one.
    """
    user = get(session=session, user_id=user_id)
    if current_password is not None and not _verify(user.password_hash, current_password):
        raise InvalidInput("Le mot de passe actuel est incorrect.")
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    revoked = revoke_user_sessions(session=session, user_id=user.id)
    audit.record(session=session, actor=actor, action="user.password", object_type="user",
                 object_id=user.id, details={"sessions_revoked": revoked})
    logger.info("password of %s changed by %s (%s sessions ended)", user.login, actor, revoked)
    return user


def disable(*, session: Session, user_id: int, actor: str) -> User:
    """Disable an account and end its sessions; its history stays."""
    user = get(session=session, user_id=user_id)
    if not user.active:
        raise Conflict(f"Le compte « {user.login} » est déjà désactivé.")
    user.active = False
    revoked = revoke_user_sessions(session=session, user_id=user.id)
    audit.record(session=session, actor=actor, action="user.disable", object_type="user",
                 object_id=user.id, details={"sessions_revoked": revoked})
    logger.info("user %s disabled by %s", user.login, actor)
    return user


def enable(*, session: Session, user_id: int, actor: str) -> User:
    """Enable a disabled account again."""
    user = get(session=session, user_id=user_id)
    if user.active:
        raise Conflict(f"Le compte « {user.login} » est déjà actif.")
    user.active = True
    audit.record(session=session, actor=actor, action="user.enable", object_type="user",
                 object_id=user.id)
    return user


def check_login_allowed(*, session: Session, ip: str, login: str,
                        limits: LoginLimits | None = None, now: datetime | None = None) -> None:
    """Raise TooManyAttempts when this address or this account failed too often recently."""
    limits = limits or LoginLimits()
    since = (now or utcnow()) - timedelta(minutes=limits.window_minutes)
    by_ip = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ip == ip, LoginAttempt.at >= since,
        LoginAttempt.success.is_(False))) or 0
    by_login = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.login == clean(login).lower()[:100], LoginAttempt.at >= since,
        LoginAttempt.success.is_(False))) or 0
    if by_ip >= limits.per_ip or by_login >= limits.per_account:
        logger.warning("login refused for %r from %s: too many failures", login, ip)
        raise TooManyAttempts(
            "Trop de tentatives de connexion échouées. Veuillez patienter "
            f"{limits.window_minutes} minutes avant de réessayer.")


def authenticate(*, session: Session, login: str, password: str, ip: str,
                 limits: LoginLimits | None = None) -> User | None:
    """Check a login and password; record the attempt; return the account or None.

    Raises TooManyAttempts before checking anything when the rate limit is reached. A
    failure returns None rather than raising, so the caller commits the recorded attempt.
    """
    check_login_allowed(session=session, ip=ip, login=login, limits=limits)
    stored_login = clean(login).lower()[:100]
    user = find_by_login(session=session, login=stored_login)
    if user is None:
        _verify(_DUMMY_HASH, password)
        ok = False
    else:
        ok = _verify(user.password_hash, password) and user.active
    session.add(LoginAttempt(at=utcnow(), ip=ip[:64], login=stored_login, success=ok))
    if not ok or user is None:
        logger.info("failed login for %r from %s", stored_login, ip)
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    logger.info("user %s logged in from %s", user.login, ip)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Return the hash under which a session token is stored (the token itself never is)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(*, session: Session, user: User, hours: int, ip: str | None = None,
                 user_agent: str | None = None) -> tuple[str, WebSession]:
    """Start a server-side session; return the cookie token (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    web_session = WebSession(
        id=token_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=hours),
        ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None,
    )
    session.add(web_session)
    session.flush()
    return token, web_session


def resolve_session(*, session: Session, token: str | None) -> tuple[WebSession, User] | None:
    """Return the live session of a cookie token and its active account, or None."""
    if not token or len(token) > 200:
        return None
    web_session = session.get(WebSession, token_digest(token))
    if web_session is None or web_session.revoked_at is not None:
        return None
    if web_session.expires_at <= utcnow():
        return None
    user = session.get(User, web_session.user_id)
    if user is None or not user.active:
        return None
    return web_session, user


def revoke_session(*, session: Session, token: str) -> None:
    """End one session (logout)."""
    web_session = session.get(WebSession, token_digest(token))
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = utcnow()


def revoke_user_sessions(*, session: Session, user_id: int) -> int:
    """End every open session of an account; return how many were ended."""
    now = utcnow()
    open_sessions = list(session.scalars(select(WebSession).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None))))
    for web_session in open_sessions:
        web_session.revoked_at = now
    return len(open_sessions)


def purge_stale(*, session: Session, older_than_days: int = 30) -> int:
    """Delete login attempts and ended sessions older than the retention; return how many."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    stale: list[LoginAttempt | WebSession] = list(
        session.scalars(select(LoginAttempt).where(LoginAttempt.at < cutoff)))
    stale.extend(session.scalars(select(WebSession).where(WebSession.expires_at < cutoff)))
    for row in stale:
        session.delete(row)
    return len(stale)
