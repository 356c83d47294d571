"""Linking an adviser's web account to their Telegram chat, through a one-time code."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.models import User
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

LINK_CODE_TTL = timedelta(hours=24)
# No 0/O/1/I: the code is read on a screen and typed on a phone.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8


def issue_code(*, session: Session, user_id: int) -> str:
    """Give an adviser a fresh one-time code to send as `/conseiller <code>` (valid 24 h)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    user.telegram_link_code = code
    user.telegram_link_expires_at = utcnow() + LINK_CODE_TTL
    audit.record(session=session, actor=user.login, action="user.telegram_code",
                 object_type="user", object_id=user.id)
    return code


def link(*, session: Session, code: str, chat_id: int) -> User:
    """Attach a Telegram chat to the adviser holding this code; the code is then used up."""
    normalised = code.strip().upper()
    user = session.scalar(select(User).where(User.telegram_link_code == normalised)) \
        if normalised else None
    expires = user.telegram_link_expires_at if user is not None else None
    if user is None or not user.active or expires is None or expires < utcnow():
        raise InvalidInput("Ce code n'est pas valide ou a expiré : demandez-en un nouveau.")
    # A chat belongs to one account at most (unique column): take it from a previous holder.
    for other in session.scalars(select(User).where(User.telegram_chat_id == chat_id,
                                                    User.id != user.id)):
        other.telegram_chat_id = None
    session.flush()
    user.telegram_chat_id = chat_id
    user.telegram_link_code = None
    user.telegram_link_expires_at = None
    audit.record(session=session, actor=user.login, action="user.telegram_link",
                 object_type="user", object_id=user.id)
    logger.info("user %s linked a Telegram chat", user.id)
    return user


def unlink(*, session: Session, user_id: int) -> User:
    """Stop sending notifications to an adviser's Telegram chat."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    user.telegram_chat_id = None
    audit.record(session=session, actor=user.login, action="user.telegram_unlink",
                 object_type="user", object_id=user.id)
    return user
