"""TOTP secrets sealed at rest: never in clear in the database, opened only by the right key."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from knowledge.people import advisers, second_factor
from knowledge.people.sealed_secrets import (
    SecretKeyError,
    SecretSealer,
    UnreadableSecret,
    is_sealed,
    key_id,
)
from knowledge.store.models import AuditEvent, User, UserRole


def _key() -> str:
    return secrets.token_urlsafe(32)


def _user(session: Session, login: str = "camille") -> User:
    return advisers.create(session=session, login=login, password="un mot de passe solide",
                           role=UserRole.ADVISER, actor="test")


def _enrol(session: Session, user: User, sealer: SecretSealer) -> str:
    secret = second_factor.start_enrolment(session=session, user_id=user.id, sealer=sealer)
    second_factor.confirm_enrolment(session=session, user_id=user.id, actor="test",
                                    code=pyotp.TOTP(secret).now(), sealer=sealer)
    return secret


def test_a_sealed_secret_names_its_key_and_opens_to_the_secret() -> None:
    key = _key()
    sealer = SecretSealer([key])
    secret = pyotp.random_base32()
    stored = sealer.seal(secret)
    assert stored.startswith(f"v1:{key_id(key)}:") and is_sealed(stored)
    assert secret not in stored and sealer.open(stored) == secret
    assert sealer.seal(secret) != stored  # a fresh nonce each time
    assert key not in repr(sealer)


def test_a_wrong_key_says_which_key_sealed_the_secret() -> None:
    sealed_by = SecretSealer([_key()])
    stored = sealed_by.seal(pyotp.random_base32())
    other = SecretSealer([_key()])
    with pytest.raises(UnreadableSecret, match=f"autre clé \\(empreinte {sealed_by.key_id}\\)"):
        other.open(stored)


def test_damaged_and_clear_values_are_refused_with_their_cause() -> None:
    sealer = SecretSealer([_key()])
    stored = sealer.seal(pyotp.random_base32())
    damaged = stored[:-6] + ("AAAAAA" if not stored.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(UnreadableSecret, match="endommagé"):
        sealer.open(damaged)
    with pytest.raises(UnreadableSecret, match="en clair"):
        sealer.open(pyotp.random_base32())
    with pytest.raises(UnreadableSecret, match="format v2"):
        sealer.open("v2:abcd:xyz")


def test_a_key_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(SecretKeyError, match="31 octets, il en faut au moins 32"):
        SecretSealer(["x" * 31])
    with pytest.raises(SecretKeyError):
        SecretSealer([])
    assert SecretSealer(["é" * 16]).key_id  # bytes count, not characters


def test_previous_keys_open_but_only_the_first_seals() -> None:
    old, new = _key(), _key()
    secret = pyotp.random_base32()
    stored = SecretSealer([old]).seal(secret)
    both = SecretSealer([new, old])
    assert both.open(stored) == secret and not both.is_current(stored)
    resealed = both.seal(secret)
    assert both.is_current(resealed) and SecretSealer([new]).open(resealed) == secret
    with pytest.raises(UnreadableSecret):
        SecretSealer([old]).open(resealed)


def test_a_sealer_that_rereads_its_keys_follows_a_rotation() -> None:
    old, new = _key(), _key()
    ring = [old]
    sealer = SecretSealer(list(ring), reload=lambda: list(ring))
    ring[:] = [new, old]  # a rotation rewrote the key file
    stored = sealer.seal("JBSWY3DPEHPK3PXP")
    assert stored.startswith(f"v1:{key_id(new)}:")
    ring[:] = [new]
    stale = SecretSealer([new, old], reload=lambda: list(ring))
    assert stale.open(stored) == "JBSWY3DPEHPK3PXP"


def test_the_database_never_holds_the_secret_in_clear(database_url: str, engine: Engine,
                                                       session: Session) -> None:
    sealer = SecretSealer([_key()])
    user = _user(session)
    secret = _enrol(session, user, sealer)
    session.commit()
    stored = session.scalar(text("SELECT totp_secret FROM users WHERE login = 'camille'"))
    assert isinstance(stored, str) and is_sealed(stored) and secret not in stored
    if engine.dialect.name != "sqlite":
        return
    # The bytes of the file and of its write-ahead log, as a stolen copy would have them.
    path = Path(str(make_url(database_url).database))
    files = [candidate for candidate in (path, path.with_name(path.name + "-wal"))
             if candidate.exists()]
    assert any(candidate.name.endswith("-wal") for candidate in files)  # still in the WAL
    for candidate in files:
        assert secret.encode("ascii") not in candidate.read_bytes(), candidate
    session.close()
    engine.dispose()  # checkpointed into the file: still sealed there
    assert secret.encode("ascii") not in path.read_bytes()


def test_login_codes_verify_through_the_sealed_secret(session: Session) -> None:
    sealer = SecretSealer([_key()])
    user = _user(session)
    secret = _enrol(session, user, sealer)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: not the enrolment's
    assert second_factor.verify(session=session, user=user, code=code, sealer=sealer)


def test_a_wrong_key_at_login_is_an_error_not_a_wrong_code(session: Session) -> None:
    user = _user(session)
    secret = _enrol(session, user, SecretSealer([_key()]))
    with pytest.raises(UnreadableSecret, match="autre clé"):
        second_factor.verify(session=session, user=user, code=pyotp.TOTP(secret).now(),
                             sealer=SecretSealer([_key()]))


def test_resealing_moves_every_secret_to_the_new_key_and_is_audited(session: Session) -> None:
    old, new = _key(), _key()
    first, second = _user(session, "camille"), _user(session, "dominique")
    secrets_in_clear = [_enrol(session, first, SecretSealer([old])),
                        _enrol(session, second, SecretSealer([old]))]
    both = SecretSealer([new, old])
    assert second_factor.check_secrets(session=session, sealer=both).older_key == 2
    assert second_factor.reseal_secrets(session=session, sealer=both, actor="test") == 2
    assert second_factor.reseal_secrets(session=session, sealer=both, actor="test") == 0
    check = second_factor.check_secrets(session=session, sealer=SecretSealer([new]))
    assert (check.current, check.older_key, check.unreadable) == (2, 0, ())
    stored = list(session.scalars(select(User.totp_secret).order_by(User.id)))
    assert [SecretSealer([new]).open(value or "") for value in stored] == secrets_in_clear
    assert second_factor.check_secrets(
        session=session, sealer=SecretSealer([old])).unreadable == ("camille", "dominique")
    actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("secrets.reseal") == 1


def test_resealing_stops_whole_on_a_secret_no_key_opens(session: Session) -> None:
    old, lost = _key(), _key()
    _enrol(session, _user(session, "camille"), SecretSealer([old]))
    _enrol(session, _user(session, "dominique"), SecretSealer([lost]))
    with pytest.raises(UnreadableSecret, match="compte « dominique »"):
        second_factor.reseal_secrets(session=session, sealer=SecretSealer([_key(), old]),
                                     actor="test")
