"""Personal tokens of the JSON API: issued by an admin for an adviser account, hashed, revocable.

A token is `svp_` followed by 43 URL-safe characters (256 random bits). Only its sha256 is
stored: at that entropy a fast hash is enough, and a lookup by hash needs no constant-time
comparison. The first characters are kept in clear so that lists can tell tokens apart.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, DomainError, InvalidInput, NotFound
from knowledge.people.advisers import get
from knowledge.store.api_models import ApiToken
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "svp_"
SHOWN_CHARS = 12  # "svp_" and 8 characters: enough to recognise a token, useless to guess it
MAX_NAME_CHARS = 100
MAX_EXPIRY_DAYS = 3650
MAX_TOKEN_CHARS = 200


class TokenScope(enum.StrEnum):
    """What a token may do: read only, or also answer, write notes and edit entries."""

    READ = "read"
    WRITE = "write"


class TokenRejected(DomainError):
    """A token presented to the API is unknown, revoked or expired; the message says which."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: its row and the secret, shown once and never stored."""

    token: ApiToken
    secret: str


def digest(secret: str) -> str:
    """Return the hash under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scope(value: str) -> TokenScope:
    """Read a scope typed by a person; InvalidInput with the choices otherwise."""
    try:
        return TokenScope(clean(value).lower())
    except ValueError:
        raise InvalidInput(f"Portée inconnue « {value} » : choisissez read ou write.") from None


def is_live(token: ApiToken, now: datetime | None = None) -> bool:
    """Tell whether a token is neither revoked nor expired."""
    now = now or utcnow()
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def create(*, session: Session, name: str, user_id: int, scope: TokenScope,
           expires_days: int | None, actor: str) -> IssuedToken:
    """Issue a token for an active account; the secret is returned once."""
    label = clean(name)
    if not label:
        raise InvalidInput("Donnez un nom au jeton (l'outil qui l'utilisera).")
    if len(label) > MAX_NAME_CHARS:
        raise InvalidInput(f"Le nom du jeton dépasse {MAX_NAME_CHARS} caractères.")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"La durée de validité va de 1 à {MAX_EXPIRY_DAYS} jours.")
    user = get(session=session, user_id=user_id)
    if not user.active:
        raise Conflict(f"Le compte « {user.login} » est désactivé : aucun jeton ne peut lui "
                       "être attribué.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(name=label, user_id=user.id, scope=scope.value, token_hash=digest(secret),
                     prefix=secret[:SHOWN_CHARS], created_by=actor, created_at=now,
                     expires_at=now + timedelta(days=expires_days) if expires_days else None)
    session.add(token)
    session.flush()
    audit.record(session=session, actor=actor, action="api_token.create",
                 object_type="api_token", object_id=token.id,
                 details={"name": label, "user": user.login, "scope": scope.value,
                          "expires_days": expires_days})
    logger.info("API token %s (%s, %s) created for %s by %s", token.id, label, scope.value,
                user.login, actor)
    return IssuedToken(token=token, secret=secret)


def list_tokens(*, session: Session) -> list[ApiToken]:
    """List every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def get_token(*, session: Session, token_id: int) -> ApiToken:
    """Return a token by id or raise NotFound."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("api_token", token_id)
    return token


def revoke(*, session: Session, token_id: int, actor: str) -> ApiToken:
    """Revoke a token at once; it is kept, for the audit log and the list."""
    token = get_token(session=session, token_id=token_id)
    if token.revoked_at is not None:
        raise Conflict(f"Le jeton n° {token.id} est déjà révoqué.")
    token.revoked_at = utcnow()
    audit.record(session=session, actor=actor, action="api_token.revoke",
                 object_type="api_token", object_id=token.id, details={"name": token.name})
    logger.info("API token %s revoked by %s", token.id, actor)
    return token


def authenticate(*, session: Session, secret: str, now: datetime | None = None) -> ApiToken:
    """Return the live token of a secret and note its use; TokenRejected otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        raise TokenRejected("invalid", "Jeton d'accès inconnu.")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None:
        raise TokenRejected("invalid", "Jeton d'accès inconnu.")
    now = now or utcnow()
    if token.revoked_at is not None:
        raise TokenRejected("revoked", "Ce jeton d'accès a été révoqué.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRejected("expired", "Ce jeton d'accès a expiré.")
    user = get(session=session, user_id=token.user_id)
    if not user.active:
        raise TokenRejected("disabled", "Le compte de ce jeton d'accès est désactivé.")
    token.last_used_at = now
    return token


def record_call(*, session: Session, token_id: int, method: str, path: str,
                status: int) -> None:
    """Record one call made with a write token (the secret itself is never written)."""
    token = get_token(session=session, token_id=token_id)
    user = get(session=session, user_id=token.user_id)
    audit.record(session=session, actor=f"user:{user.login}", action="api.call",
                 object_type="api_token", object_id=token.id,
                 details={"method": method, "path": path[:500], "status": status})
