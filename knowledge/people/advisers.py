"""Web admin accounts (advisers and admins): passwords, login, sessions."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import unicodedata
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, Forbidden, InvalidInput, NotFound
from knowledge.people import throttle
from knowledge.store.models import LoginAttempt, User, UserRole, WebSession
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
_LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
# Argon2id with argon2-cffi's RFC 9106 "low memory" defaults: sound and quick enough for a login.
_HASHER = PasswordHasher()
PENDING_SESSION_LIFETIME = timedelta(minutes=10)
_SEEN_PRECISION = timedelta(minutes=1)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the login is unknown, so both paths cost the same time."""
    # Made on first use, not at import: every `svp` command would pay for it otherwise.
    return _HASHER.hash("svp-no-such-account")


# zxcvbn scores 0 to 4 (guesses below 10^3, 10^6, 10^8, 10^10, above): 3 resists an
# offline attack on a slow hash and an online one for years.
MIN_PASSWORD_SCORE = 3
# Why zxcvbn found a password guessable, by the kind of its weakest part, in French.
_WEAKNESS = {
    "dictionary": "il repose sur un mot ou un mot de passe très courant",
    "spatial": "il suit une rangée ou un motif du clavier",
    "repeat": "il répète des caractères ou un motif",
    "sequence": "il contient une suite (abc, 123…)",
    "regex": "il contient une année récente",
    "date": "il contient une date",
    "bruteforce": "il est trop court ou trop simple",
}


def hash_password(password: str) -> str:
    """Return the Argon2id hash of a password."""
    return _HASHER.hash(password)


def check_password_strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """Raise InvalidInput, saying why, when a password is too short, too long or guessable."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"Le mot de passe dépasse {MAX_PASSWORD_CHARS} caractères.")
    # zxcvbn's dictionaries ship with the package, and ours with the code: nothing is
    # fetched at run time. The French words go in as extra dictionary words.
    personal = [value.lower() for value in user_inputs if value]
    # Imported here: its dictionaries take a while to load, and most commands set no password.
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=personal + _french_common_passwords())
    if result["score"] >= MIN_PASSWORD_SCORE:
        if _only_known_words(password, personal):
            raise InvalidInput(
                "Mot de passe trop facile à deviner : il n'est fait que de mots très courants "
                "ou liés au logement social (hlm, svp, logement, paca…), avec des chiffres ou "
                "des symboles. Ajoutez des mots peu courants, sans rapport avec le métier.")
        return
    reason = _weakness(result["sequence"], personal)
    raise InvalidInput(
        f"Mot de passe trop facile à deviner : {reason}. Choisissez une phrase de plusieurs "
        "mots peu courants, ou une suite de caractères sans logique.")


def _weakness(sequence: list[dict[str, object]], personal: list[str]) -> str:
    """The reason a guessable password is weak, from the largest part zxcvbn recognised."""
    parts = [part for part in sequence if part.get("pattern") != "bruteforce"] or sequence
    main = max(parts, key=lambda part: len(str(part.get("token", ""))))
    if main.get("dictionary_name") == "user_inputs" and main.get("matched_word") in personal:
        return "il reprend votre identifiant ou votre nom"
    return _WEAKNESS.get(str(main.get("pattern")), "il est trop prévisible")


def _letters(text: str) -> str:
    """The lower-case letters of a text, accents removed, digits and symbols dropped."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if char.isalpha() and char.isascii())


def _only_known_words(password: str, personal: list[str]) -> bool:
    """Whether the password's letters split entirely into context or common French words."""
    # zxcvbn ranks our words low in its dictionary, so "logementhlm2024" scored as strong:
    # a password whose letters are nothing but such words is refused outright.
    letters = _letters(password)
    if not letters:
        return False
    words = _known_words() | {_letters(value) for value in personal if _letters(value)}
    longest = max(len(word) for word in words)
    # ends[i]: the first i letters split into known words.
    ends = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        ends[end] = any(ends[start] and letters[start:end] in words
                        for start in range(max(0, end - longest), end))
    return ends[-1]


@functools.cache
def _known_words() -> frozenset[str]:
    """The common French passwords and context words, as letters only."""
    return frozenset(_letters(word) for word in _french_common_passwords() if _letters(word))


@functools.cache
def _french_common_passwords() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "data" / "common-passwords-fr.txt").read_text(
        encoding="utf-8")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


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
    check_password_strength(password, user_inputs=(login, display_name or ""))
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


def active_admins(*, session: Session) -> list[User]:
    """List the active admin accounts by login."""
    return [user for user in list_users(session=session) if is_admin(user) and user.active]


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
    check_password_strength(new_password, user_inputs=(user.login, user.display_name))
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


def close_sessions(*, session: Session, user_id: int, actor: str) -> int:
    """End every open session of an account (a lost laptop, a departure); return how many."""
    user = get(session=session, user_id=user_id)
    closed = revoke_user_sessions(session=session, user_id=user.id)
    audit.record(session=session, actor=actor, action="user.sessions_closed",
                 object_type="user", object_id=user.id, details={"sessions_revoked": closed})
    logger.info("%s sessions of %s closed by %s", closed, user.login, actor)
    return closed


def enable(*, session: Session, user_id: int, actor: str) -> User:
    """Enable a disabled account again."""
    user = get(session=session, user_id=user_id)
    if user.active:
        raise Conflict(f"Le compte « {user.login} » est déjà actif.")
    user.active = True
    audit.record(session=session, actor=actor, action="user.enable", object_type="user",
                 object_id=user.id)
    return user


def authenticate(*, session: Session, login: str, password: str, ip: str,
                 limits: throttle.LoginLimits | None = None) -> User | None:
    """Check a login and password; record the attempt; return the account or None.

    The attempt must have been reserved with `throttle.reserve` (and committed) first. A
    failure also slows the account down from every address. A failure returns None rather
    than raising, so the caller commits what was recorded.
    """
    stored_login = clean(login).lower()[:100]
    user = find_by_login(session=session, login=stored_login)
    if user is None:
        _verify(_dummy_hash(), password)
        ok = False
    else:
        ok = _verify(user.password_hash, password) and user.active
    session.add(LoginAttempt(at=utcnow(), ip=ip[:64], login=stored_login, success=ok))
    if not ok or user is None:
        throttle.note_account_failure(session=session, login=stored_login,
                                      limits=limits or throttle.LoginLimits())
        # Never what was typed: a password typed in the login field would end up in the log.
        logger.info("failed login for %s from %s",
                    f"account {user.id}" if user is not None else "an unknown login", ip)
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    logger.info("password of %s checked from %s", user.login, ip)
    return user


def matches_hash(secret_hash: str, secret: str) -> bool:
    """Tell whether a secret matches its Argon2id hash (passwords, recovery codes)."""
    return _verify(secret_hash, secret)


def verify_password(user: User, password: str) -> bool:
    """Tell whether a password is the account's (re-authentication before a sensitive change)."""
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Return the hash under which a session token is stored (the token itself never is)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(*, session: Session, user: User, hours: int, ip: str | None = None,
                 user_agent: str | None = None,
                 second_factor_pending: bool = False) -> tuple[str, WebSession]:
    """Start a server-side session; return the cookie token (shown once) and the row.

    A session waiting for the second factor lasts a few minutes and opens nothing else.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = PENDING_SESSION_LIFETIME if second_factor_pending else timedelta(hours=hours)
    web_session = WebSession(
        id=token_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + lifetime,
        ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None,
        second_factor_pending=second_factor_pending,
    )
    session.add(web_session)
    session.flush()
    return token, web_session


def resolve_session(*, session: Session, token: str | None, idle_minutes: int | None = None,
                    pending: bool = False) -> tuple[WebSession, User] | None:
    """Return the live session of a cookie token and its active account, or None.

    `pending` selects sessions waiting for their second factor instead of full ones. A
    session unused for `idle_minutes` is ended; a used one is marked as seen.
    """
    if not token or len(token) > 200:
        return None
    web_session = session.get(WebSession, token_digest(token))
    if web_session is None or web_session.revoked_at is not None:
        return None
    if web_session.second_factor_pending != pending:
        return None
    now = utcnow()
    if web_session.expires_at <= now:
        return None
    if idle_minutes and web_session.last_seen_at <= now - timedelta(minutes=idle_minutes):
        web_session.revoked_at = now
        logger.info("session of user %s ended after %s idle minutes", web_session.user_id,
                    idle_minutes)
        return None
    user = session.get(User, web_session.user_id)
    if user is None or not user.active:
        return None
    # Marking every request would make each page a write; a minute's precision is enough.
    if web_session.last_seen_at <= now - _SEEN_PRECISION:
        web_session.last_seen_at = now
    return web_session, user


def list_sessions(*, session: Session, user_id: int) -> list[WebSession]:
    """The open sessions of an account, most recently used first."""
    return list(session.scalars(select(WebSession).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
        WebSession.second_factor_pending.is_(False), WebSession.expires_at > utcnow(),
    ).order_by(WebSession.last_seen_at.desc())))


def close_session(*, session: Session, user_id: int, session_id: str) -> None:
    """End one of an account's own sessions (from the list of its sessions)."""
    web_session = session.get(WebSession, session_id[:64])
    if web_session is None or web_session.user_id != user_id:
        raise NotFound("session", session_id[:64])
    if web_session.revoked_at is None:
        web_session.revoked_at = utcnow()


def revoke_session(*, session: Session, token: str) -> None:
    """End one session (logout)."""
    web_session = session.get(WebSession, token_digest(token))
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = utcnow()


def revoke_user_sessions(*, session: Session, user_id: int, keep: str | None = None) -> int:
    """End every open session of an account (but `keep`); return how many were ended."""
    now = utcnow()
    open_sessions = list(session.scalars(select(WebSession).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
        WebSession.id != (keep or ""))))
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
    return len(stale) + throttle.purge(session=session, older_than=cutoff)
