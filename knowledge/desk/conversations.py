"""What the bot remembers between updates, in the database: conversation steps and user drafts.

python-telegram-bot keeps a conversation's step (registration: name → organisation → e-mail →
consent) and each user's draft in memory; stored here, a restart resumes them instead of
dropping the user mid-registration, and a replayed update finds the step it was sent in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from knowledge.store.models import ConversationState, TelegramUserData
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

ConversationKey = tuple[str | int, ...]


def _key_text(key: Sequence[str | int]) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def _user_of(key: Sequence[str | int]) -> int | None:
    # Keys are (chat id, user id) for conversations tracked per chat and per user.
    last = key[-1] if len(key) >= 2 else None
    return last if isinstance(last, int) else None


def load_states(*, session: Session, name: str,
                max_age: timedelta | None = None) -> dict[ConversationKey, int]:
    """Return the steps of a conversation; steps older than `max_age` are forgotten (timed out)."""
    rows = session.scalars(select(ConversationState).where(ConversationState.name == name))
    oldest = utcnow() - max_age if max_age is not None else None
    states: dict[ConversationKey, int] = {}
    for row in rows:
        if oldest is not None and row.updated_at < oldest:
            session.delete(row)
            continue
        states[tuple(json.loads(row.key))] = row.state
    return states


def save_state(*, session: Session, name: str, key: Sequence[str | int],
               state: int | None) -> None:
    """Record a conversation's new step (None: the conversation ended)."""
    text = _key_text(key)
    row = session.get(ConversationState, (name, text))
    if state is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(ConversationState(name=name, key=text, user_id=_user_of(key), state=state,
                                      updated_at=utcnow()))
    else:
        row.state, row.updated_at = state, utcnow()


def load_user_data(*, session: Session,
                   max_age: timedelta | None = None) -> dict[int, dict[str, Any]]:
    """Return every user's stored data; data older than `max_age` is deleted (an abandoned
    registration's name and e-mail are not kept)."""
    oldest = utcnow() - max_age if max_age is not None else None
    data: dict[int, dict[str, Any]] = {}
    for row in session.scalars(select(TelegramUserData)):
        if oldest is not None and row.updated_at < oldest:
            session.delete(row)
        else:
            data[row.user_id] = dict(row.data)
    return data


def save_user_data(*, session: Session, user_id: int, data: dict[str, Any]) -> None:
    """Store a user's data (an empty dict deletes it)."""
    row = session.get(TelegramUserData, user_id)
    if not data:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(TelegramUserData(user_id=user_id, data=data, updated_at=utcnow()))
    else:
        row.data, row.updated_at = data, utcnow()


def forget_user(*, session: Session, telegram_user_id: int) -> int:
    """Delete a Telegram user's conversation steps and data; return how many rows went."""
    removed = 0
    for statement in (delete(ConversationState)
                      .where(ConversationState.user_id == telegram_user_id),
                      delete(TelegramUserData).where(TelegramUserData.user_id == telegram_user_id)):
        removed += int(getattr(session.execute(statement), "rowcount", 0) or 0)
    return removed
