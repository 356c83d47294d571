"""Tables of the running bot's state: the Telegram inbox, group notices, index log readers,
conversation steps and per-user drafts (so a restart resumes a registration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class InboxUpdate(Base):
    """A Telegram update, committed before Telegram may forget it; processed once, in order."""

    __tablename__ = "inbox_updates"
    __table_args__ = (Index("ix_inbox_updates_processed_id", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # arrival order
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class GroupNotice(Base):
    """A group or channel already told that the bot serves private chats only."""

    __tablename__ = "group_notices"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    told_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IndexReader(Base):
    """How far one process's vector index has read the index change log, and when."""

    __tablename__ = "index_readers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConversationState(Base):
    """The step a Telegram conversation (registration) has reached, per chat and user."""

    __tablename__ = "conversation_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # JSON of the handler's key
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # for erasure
    state: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TelegramUserData(Base):
    """What the bot keeps for a Telegram user between updates (the registration draft)."""

    __tablename__ = "telegram_user_data"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
