"""Linking an adviser's Telegram chat with a one-time code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from knowledge.errors import InvalidInput
from knowledge.people import adviser_links
from knowledge.store.models import User
from knowledge.timeutil import utcnow


def _user(session: Session, login: str) -> User:
    user = User(login=login, display_name=login.title(), password_hash="x")
    session.add(user)
    session.flush()
    return user


def test_code_links_once_and_moves_the_chat_from_a_previous_account(session: Session) -> None:
    old, new = _user(session, "ancien"), _user(session, "nouveau")
    old.telegram_chat_id = 77
    code = adviser_links.issue_code(session=session, user_id=new.id)
    assert len(code) == 8 and code.isalnum()
    assert adviser_links.link(session=session, code=f" {code.lower()} ", chat_id=77) is new
    assert (new.telegram_chat_id, old.telegram_chat_id) == (77, None)
    with pytest.raises(InvalidInput):
        adviser_links.link(session=session, code=code, chat_id=77)


def test_expired_code_or_inactive_account_is_refused(session: Session) -> None:
    user = _user(session, "claire")
    code = adviser_links.issue_code(session=session, user_id=user.id)
    user.telegram_link_expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(InvalidInput):
        adviser_links.link(session=session, code=code, chat_id=1)
    code = adviser_links.issue_code(session=session, user_id=user.id)
    user.active = False
    with pytest.raises(InvalidInput):
        adviser_links.link(session=session, code=code, chat_id=1)
    with pytest.raises(InvalidInput):
        adviser_links.link(session=session, code="", chat_id=1)
