"""Second factor of web accounts: TOTP codes (authenticator app) and one-time recovery codes.

TOTP is RFC 6238 through `pyotp` (30-second steps, one step of clock drift either way, each
step usable once); the enrolment QR code is drawn by `segno` as inline SVG. Recovery codes are
random (12 characters, 59 bits), shown once, and stored as salted Argon2id hashes like passwords
(ASVS 6.5.2: below 112 bits a fast hash is not enough). The TOTP secret itself must be read
back to check codes, so it cannot be hashed: it is sealed at rest (`sealed_secrets`), and every
function that reads or writes it takes the process's `SecretSealer`.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import Conflict, InvalidInput
from knowledge.people.advisers import get, hash_password, matches_hash
from knowledge.people.sealed_secrets import SecretSealer, UnreadableSecret
from knowledge.store.login_security import RecoveryCode
from knowledge.store.models import User
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

ISSUER = "SVP administration"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_CHARS = 12
_STEP_SECONDS = 30


def is_enabled(user: User) -> bool:
    """Tell whether an account logs in with a second factor."""
    return user.totp_enabled_at is not None and user.totp_secret is not None


def start_enrolment(*, session: Session, user_id: int, sealer: SecretSealer) -> str:
    """Draw a new TOTP secret for an account that has none enabled; store it sealed, return it."""
    user = get(session=session, user_id=user_id)
    if is_enabled(user):
        raise Conflict("La double authentification est déjà activée sur ce compte.")
    secret = pyotp.random_base32()
    user.totp_secret = sealer.seal(secret)
    return secret


def provisioning_uri(*, login: str, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of an otpauth:// address as an inline SVG element (no script, no style)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000",
                                                      light="#fff", title="QR code")
    return svg


def confirm_enrolment(*, session: Session, user_id: int, code: str, actor: str,
                      sealer: SecretSealer) -> list[str]:
    """Enable the second factor once a first code is right; return fresh recovery codes."""
    user = get(session=session, user_id=user_id)
    if is_enabled(user):
        raise Conflict("La double authentification est déjà activée sur ce compte.")
    if user.totp_secret is None:
        raise Conflict("Recommencez l'activation : aucun code secret n'a été préparé.")
    if not _check_totp(user, code, sealer):
        raise InvalidInput("Code incorrect : saisissez le code à 6 chiffres affiché par "
                           "l'application, avant qu'il ne change.")
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(session=session, user=user)
    audit.record(session=session, actor=actor, action="user.second_factor_on",
                 object_type="user", object_id=user.id)
    logger.info("second factor enabled for %s by %s", user.login, actor)
    return codes


def regenerate_recovery_codes(*, session: Session, user_id: int, actor: str) -> list[str]:
    """Replace an account's recovery codes; return the new ones (shown once)."""
    user = get(session=session, user_id=user_id)
    if not is_enabled(user):
        raise Conflict("La double authentification n'est pas activée sur ce compte.")
    codes = _new_recovery_codes(session=session, user=user)
    audit.record(session=session, actor=actor, action="user.recovery_codes",
                 object_type="user", object_id=user.id)
    return codes


def disable(*, session: Session, user_id: int, actor: str) -> User:
    """Turn the second factor off and forget its secret and recovery codes."""
    user = get(session=session, user_id=user_id)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(session=session, actor=actor, action="user.second_factor_off",
                 object_type="user", object_id=user.id)
    logger.info("second factor disabled for %s by %s", user.login, actor)
    return user


def verify(*, session: Session, user: User, code: str, sealer: SecretSealer) -> bool:
    """Check a TOTP code or an unused recovery code (then spent); True when right."""
    if not is_enabled(user):
        return False
    compact = "".join(code.split())
    if compact.isascii() and compact.isdigit():
        return _check_totp(user, compact, sealer)
    raw = compact.replace("-", "").lower()
    if len(raw) != _RECOVERY_CHARS or not set(raw) <= set(_RECOVERY_ALPHABET):
        return False  # not shaped like a recovery code: no hash to compute
    unused = session.scalars(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
    spent = next((row for row in unused if matches_hash(row.code_hash, raw)), None)
    if spent is None:
        return False
    spent.used_at = utcnow()
    audit.record(session=session, actor=f"user:{user.login}", action="user.recovery_code_used",
                 object_type="user", object_id=user.id)
    logger.info("recovery code used by %s", user.login)
    return True


def remaining_recovery_codes(*, session: Session, user_id: int) -> int:
    """How many recovery codes of an account are still unused."""
    return int(session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0)


def current_code(secret: str, at: float | None = None) -> str:
    """The TOTP code of a secret at a time (for tests and the CLI's diagnostics)."""
    return pyotp.TOTP(secret).at(at if at is not None else time.time())


def _check_totp(user: User, code: str, sealer: SecretSealer) -> bool:
    """Accept the code of the current step or a neighbour, each step at most once."""
    code = "".join(code.split())
    if user.totp_secret is None or len(code) != 6 or not (code.isascii() and code.isdigit()):
        return False
    try:
        totp = pyotp.TOTP(sealer.open(user.totp_secret))
    except UnreadableSecret:
        # Not a wrong code: the operator must restore the key. Say so in the log, then let
        # the error reach the page.
        logger.error("second factor of %s cannot be opened with the configured keys",
                     user.login)
        raise
    now_step = int(time.time()) // _STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue  # a code already used (or older) never opens a second session
        if secrets.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


@dataclass(frozen=True)
class SealedSecretsCheck:
    """What the configured keys make of the stored TOTP secrets."""

    current: int  # opened, sealed under the sealing key
    older_key: int  # opened, sealed under a previous key: a rotation would redo them
    unreadable: tuple[str, ...]  # logins whose secret no configured key opens


def check_secrets(*, session: Session, sealer: SecretSealer) -> SealedSecretsCheck:
    """Try to open every stored TOTP secret; count those under each kind of key."""
    current = older = 0
    unreadable = []
    rows = session.execute(select(User.login, User.totp_secret).where(
        User.totp_secret.is_not(None)).order_by(User.id))
    for login, stored in rows:
        if stored is None:
            continue
        try:
            sealer.open(stored)
        except UnreadableSecret:
            unreadable.append(login)
            continue
        if sealer.is_current(stored):
            current += 1
        else:
            older += 1
    return SealedSecretsCheck(current=current, older_key=older, unreadable=tuple(unreadable))


def reseal_secrets(*, session: Session, sealer: SecretSealer, actor: str) -> int:
    """Seal again under the sealing key every TOTP secret held under an older one; count them.

    One unreadable secret stops the whole change (the caller rolls back): nothing is left half
    rotated, and no secret is dropped without the operator knowing.
    """
    users = session.scalars(select(User).where(User.totp_secret.is_not(None)).order_by(User.id))
    count = 0
    for user in users:
        stored = user.totp_secret
        if stored is None or sealer.is_current(stored):
            continue
        try:
            plain = sealer.open(stored)
        except UnreadableSecret as error:
            raise UnreadableSecret(f"compte « {user.login} » : {error}") from error
        user.totp_secret = sealer.seal(plain)
        count += 1
    if count:
        audit.record(session=session, actor=actor, action="secrets.reseal", object_type="user",
                     details={"count": count, "key_id": sealer.key_id})
        logger.info("%s second-factor secrets sealed again under key %s by %s", count,
                    sealer.key_id, actor)
    return count


def _new_recovery_codes(*, session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_CHARS))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=hash_password(raw),
                                 created_at=utcnow()))
    return codes
