"""TOTP second factor: enrolment, codes used once, recovery codes hashed and spent once."""

from __future__ import annotations

import secrets
import time

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput
from knowledge.people import advisers, second_factor
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.store.login_security import RecoveryCode
from knowledge.store.models import User, UserRole

SEALER = SecretSealer([secrets.token_urlsafe(32)])


def _user(session: Session) -> User:
    return advisers.create(session=session, login="camille", password="un mot de passe solide",
                           role=UserRole.ADVISER, actor="test")


def _enrol(session: Session, user: User) -> tuple[str, list[str]]:
    secret = second_factor.start_enrolment(session=session, user_id=user.id, sealer=SEALER)
    codes = second_factor.confirm_enrolment(session=session, user_id=user.id,
                                            code=pyotp.TOTP(secret).now(), actor="test",
                                            sealer=SEALER)
    return secret, codes


def _verify(session: Session, user: User, code: str) -> bool:
    return second_factor.verify(session=session, user=user, code=code, sealer=SEALER)


def test_enrolment_needs_a_right_code_and_gives_ten_recovery_codes(session: Session) -> None:
    user = _user(session)
    secret = second_factor.start_enrolment(session=session, user_id=user.id, sealer=SEALER)
    with pytest.raises(InvalidInput, match="Code incorrect"):
        second_factor.confirm_enrolment(session=session, user_id=user.id, code="000000",
                                        actor="test", sealer=SEALER)
    assert not second_factor.is_enabled(user)
    codes = second_factor.confirm_enrolment(session=session, user_id=user.id,
                                            code=pyotp.TOTP(secret).now(), actor="test",
                                            sealer=SEALER)
    assert second_factor.is_enabled(user) and len(codes) == 10 and len(set(codes)) == 10
    with pytest.raises(Conflict):
        second_factor.start_enrolment(session=session, user_id=user.id, sealer=SEALER)


def test_uri_and_qr_code_carry_the_secret_for_the_app(session: Session) -> None:
    secret = pyotp.random_base32()
    uri = second_factor.provisioning_uri(login="camille", secret=secret)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    svg = second_factor.qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg


def test_a_totp_code_opens_once_only(session: Session) -> None:
    user = _user(session)
    secret, _codes = _enrol(session, user)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: not the enrolment's
    assert _verify(session, user, code)
    assert not _verify(session, user, code)  # replay
    assert not _verify(session, user, "123456")


def test_recovery_codes_are_stored_hashed_and_work_once(session: Session) -> None:
    user = _user(session)
    _secret, codes = _enrol(session, user)
    stored = list(session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10 and all(value.startswith("$argon2id$") for value in stored)
    assert not any(code.replace("-", "") in " ".join(stored) for code in codes)
    assert _verify(session, user, codes[3].upper())
    assert not _verify(session, user, codes[3])
    assert second_factor.remaining_recovery_codes(session=session, user_id=user.id) == 9


def test_new_recovery_codes_replace_the_old_ones(session: Session) -> None:
    user = _user(session)
    _secret, old = _enrol(session, user)
    new = second_factor.regenerate_recovery_codes(session=session, user_id=user.id,
                                                  actor="test")
    assert not _verify(session, user, old[0])
    assert _verify(session, user, new[0])


def test_disabling_forgets_the_secret_and_the_codes(session: Session) -> None:
    user = _user(session)
    _secret, codes = _enrol(session, user)
    second_factor.disable(session=session, user_id=user.id, actor="test")
    assert not second_factor.is_enabled(user) and user.totp_secret is None
    assert not _verify(session, user, codes[0])
    assert session.scalar(select(RecoveryCode)) is None
