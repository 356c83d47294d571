"""Personal API tokens: issued once, stored hashed, refused when revoked, expired or disabled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.people import advisers, api_tokens
from knowledge.people.api_tokens import TokenRejected, TokenScope
from knowledge.store.api_models import ApiToken
from knowledge.store.models import AuditEvent, User, UserRole
from knowledge.timeutil import utcnow


def _user(session: Session, login: str = "camille") -> User:
    user = advisers.create(session=session, login=login, password="correct horse battery",
                           role=UserRole.ADVISER, display_name=login.title(), actor="test")
    session.commit()
    return user


def test_token_is_shown_once_and_only_its_hash_is_stored(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="Intranet", user_id=user.id,
                               scope=TokenScope.READ, expires_days=None, actor="user:admin")
    session.commit()
    assert issued.secret.startswith("svp_") and len(issued.secret) >= 40
    row = session.scalars(select(ApiToken)).one()
    stored = [str(value) for value in (row.token_hash, row.prefix, row.name)]
    assert issued.secret not in " ".join(stored)
    assert row.token_hash == api_tokens.digest(issued.secret)
    assert issued.secret.startswith(row.prefix) and len(row.prefix) == 12
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "api_token.create")).one()
    assert event.actor == "user:admin" and issued.secret not in str(event.details)


def test_a_live_token_authenticates_and_notes_its_last_use(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="BI", user_id=user.id,
                               scope=TokenScope.WRITE, expires_days=30, actor="cli")
    assert issued.token.last_used_at is None
    token = api_tokens.authenticate(session=session, secret=issued.secret)
    assert token.id == issued.token.id and token.last_used_at is not None
    assert token.scope == "write"


@pytest.mark.parametrize("secret", ["", "svp_", "svp_inconnu", "abc", "svp_" + "x" * 500,
                                    "Bearer svp_x"])
def test_unknown_or_malformed_tokens_are_rejected(session: Session, secret: str) -> None:
    with pytest.raises(TokenRejected) as raised:
        api_tokens.authenticate(session=session, secret=secret)
    assert raised.value.reason == "invalid"


def test_a_revoked_token_is_rejected_and_cannot_be_revoked_twice(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="Lettre", user_id=user.id,
                               scope=TokenScope.READ, expires_days=None, actor="cli")
    api_tokens.revoke(session=session, token_id=issued.token.id, actor="user:admin")
    session.commit()
    with pytest.raises(TokenRejected) as raised:
        api_tokens.authenticate(session=session, secret=issued.secret)
    assert raised.value.reason == "revoked" and "révoqué" in str(raised.value)
    with pytest.raises(Conflict):
        api_tokens.revoke(session=session, token_id=issued.token.id, actor="user:admin")
    with pytest.raises(NotFound):
        api_tokens.revoke(session=session, token_id=9999, actor="user:admin")
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "api_token")).all()
    assert actions == ["api_token.create", "api_token.revoke"]


def test_a_token_expires_after_its_days(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="BI", user_id=user.id,
                               scope=TokenScope.READ, expires_days=7, actor="cli")
    session.commit()
    soon = utcnow() + timedelta(days=6)
    assert api_tokens.authenticate(session=session, secret=issued.secret, now=soon)
    later = utcnow() + timedelta(days=7, seconds=1)
    with pytest.raises(TokenRejected) as raised:
        api_tokens.authenticate(session=session, secret=issued.secret, now=later)
    assert raised.value.reason == "expired" and "expiré" in str(raised.value)
    assert not api_tokens.is_live(issued.token, later)


def test_a_disabled_account_makes_its_tokens_useless(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="BI", user_id=user.id,
                               scope=TokenScope.WRITE, expires_days=None, actor="cli")
    advisers.disable(session=session, user_id=user.id, actor="cli")
    session.commit()
    with pytest.raises(TokenRejected) as raised:
        api_tokens.authenticate(session=session, secret=issued.secret)
    assert raised.value.reason == "disabled"
    with pytest.raises(Conflict):
        api_tokens.create(session=session, name="Autre", user_id=user.id,
                          scope=TokenScope.READ, expires_days=None, actor="cli")


@pytest.mark.parametrize(("name", "days"), [("", None), ("   ", None), ("x" * 101, None),
                                             ("BI", 0), ("BI", -3), ("BI", 3651)])
def test_bad_names_and_durations_are_refused_in_french(session: Session, name: str,
                                                       days: int | None) -> None:
    user = _user(session)
    with pytest.raises(InvalidInput):
        api_tokens.create(session=session, name=name, user_id=user.id, scope=TokenScope.READ,
                          expires_days=days, actor="cli")
    session.rollback()
    assert session.scalars(select(ApiToken)).all() == []


def test_scope_is_read_or_write() -> None:
    assert api_tokens.parse_scope(" Write ") is TokenScope.WRITE
    with pytest.raises(InvalidInput, match="read ou write"):
        api_tokens.parse_scope("admin")


def test_each_write_call_is_recorded_without_the_secret(session: Session) -> None:
    user = _user(session)
    issued = api_tokens.create(session=session, name="BI", user_id=user.id,
                               scope=TokenScope.WRITE, expires_days=None, actor="cli")
    api_tokens.record_call(session=session, token_id=issued.token.id, method="POST",
                           path="/api/v1/tickets/3/note", status=201)
    session.commit()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "api.call")).one()
    assert event.actor == "user:camille" and event.object_id == str(issued.token.id)
    assert event.details == {"method": "POST", "path": "/api/v1/tickets/3/note",
                             "status": 201}


def test_erasing_an_adviser_deletes_their_tokens(session: Session) -> None:
    from knowledge.people import data_requests

    user = _user(session, "yannick")
    other = _user(session, "camille")
    for owner in (user, other):
        api_tokens.create(session=session, name=f"Intranet de {owner.display_name}",
                          user_id=owner.id, scope=TokenScope.WRITE, expires_days=None,
                          actor="user:admin")
    session.commit()
    erasure = data_requests.erase_adviser(session=session, user_id=user.id,
                                          actor_user_id=None, actor="user:admin")
    session.commit()
    assert erasure.counts["api_tokens"] == 1
    assert [row.user_id for row in session.scalars(select(ApiToken))] == [other.id]
