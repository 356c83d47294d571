"""Adviser accounts: Argon2id passwords, login checks, rate limits and server-side sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput
from knowledge.people import advisers, throttle
from knowledge.store.models import LoginAttempt, UserRole, WebSession
from knowledge.timeutil import utcnow

PASSWORD = "un mot de passe solide"
STRONG = "une phrase assez solide"


def _user(session: Session, login: str = "camille", role: UserRole = UserRole.ADVISER) -> int:
    user = advisers.create(session=session, login=login, password=PASSWORD, role=role,
                           actor="test")
    session.commit()
    return user.id


def test_password_is_stored_as_argon2id_hash(session: Session) -> None:
    user_id = _user(session)
    user = advisers.get(session=session, user_id=user_id)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_login_is_normalised_and_unique(session: Session) -> None:
    _user(session, "Camille.Martin")
    assert advisers.find_by_login(session=session, login="camille.martin") is not None
    with pytest.raises(Conflict):
        advisers.create(session=session, login="CAMILLE.MARTIN", password=PASSWORD,
                        role=UserRole.ADVISER, actor="test")
    with pytest.raises(InvalidInput):
        advisers.create(session=session, login="a b", password=PASSWORD,
                        role=UserRole.ADVISER, actor="test")


def test_short_password_is_refused_in_french(session: Session) -> None:
    with pytest.raises(InvalidInput, match="au moins 10 caractères"):
        advisers.create(session=session, login="camille", password="court",
                        role=UserRole.ADVISER, actor="test")


def test_authenticate_accepts_the_right_password_and_records_attempts(session: Session) -> None:
    _user(session)
    assert advisers.authenticate(session=session, login="camille", password="faux",
                                 ip="10.0.0.1") is None
    user = advisers.authenticate(session=session, login="Camille", password=PASSWORD,
                                 ip="10.0.0.1")
    session.commit()
    assert user is not None and user.login == "camille"
    outcomes = [a.success for a in session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert outcomes == [False, True]


def test_disabled_account_cannot_log_in(session: Session) -> None:
    user_id = _user(session)
    advisers.disable(session=session, user_id=user_id, actor="test")
    assert advisers.authenticate(session=session, login="camille", password=PASSWORD,
                                 ip="10.0.0.1") is None


def test_failures_block_the_account_from_that_address_only_then_expire(
        session: Session) -> None:
    _user(session)
    limits = throttle.LoginLimits(per_ip=100, per_account_address=3, window_minutes=15)
    for _ in range(3):
        throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=limits)
        advisers.authenticate(session=session, login="camille", password="faux",
                              ip="10.0.0.1", limits=limits)
    with pytest.raises(throttle.TooManyAttempts, match="Trop de tentatives"):
        throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=limits)
    throttle.reserve(session=session, login="camille", ip="10.0.0.2", limits=limits)
    later = utcnow() + timedelta(minutes=16)
    throttle.reserve(session=session, login="camille", ip="10.0.0.1", limits=limits, now=later)


def test_session_token_resolves_until_revoked(session: Session) -> None:
    user_id = _user(session)
    user = advisers.get(session=session, user_id=user_id)
    token, web_session = advisers.open_session(session=session, user=user, hours=1)
    assert web_session.id == advisers.token_digest(token) != token
    resolved = advisers.resolve_session(session=session, token=token)
    assert resolved is not None and resolved[1].id == user_id
    advisers.revoke_session(session=session, token=token)
    assert advisers.resolve_session(session=session, token=token) is None


def test_expired_session_is_not_accepted(session: Session) -> None:
    user = advisers.get(session=session, user_id=_user(session))
    token, web_session = advisers.open_session(session=session, user=user, hours=1)
    web_session.expires_at = utcnow() - timedelta(seconds=1)
    assert advisers.resolve_session(session=session, token=token) is None


def test_password_change_requires_the_current_one_and_ends_sessions(session: Session) -> None:
    user = advisers.get(session=session, user_id=_user(session))
    token, _ = advisers.open_session(session=session, user=user, hours=1)
    with pytest.raises(InvalidInput, match="actuel est incorrect"):
        advisers.change_password(session=session, user_id=user.id, new_password=STRONG,
                                 current_password="faux", actor="test")
    advisers.change_password(session=session, user_id=user.id, new_password=STRONG,
                             current_password=PASSWORD, actor="test")
    session.commit()
    assert advisers.resolve_session(session=session, token=token) is None
    revoked = session.scalars(select(WebSession.revoked_at)).one()
    assert revoked is not None


def test_old_attempts_and_sessions_are_purged(session: Session) -> None:
    user = advisers.get(session=session, user_id=_user(session))
    _, old_session = advisers.open_session(session=session, user=user, hours=1)
    old_session.expires_at = utcnow() - timedelta(days=40)
    token, _ = advisers.open_session(session=session, user=user, hours=1)
    session.add(LoginAttempt(at=utcnow() - timedelta(days=40), ip="10.0.0.1", login="camille"))
    session.add(LoginAttempt(at=utcnow(), ip="10.0.0.1", login="camille"))
    session.flush()
    assert advisers.purge_stale(session=session) == 2
    assert advisers.resolve_session(session=session, token=token) is not None
    assert len(list(session.scalars(select(LoginAttempt)))) == 1
