"""Tables of the advisers' desk that stand alone: reply templates and process heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class ReplyTemplate(Base):
    """A reusable piece of answer (greeting, partial answer, closing) managed by advisers."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProcessHeartbeat(Base):
    """The last sign of life of a background process (the bot's delivery job)."""

    __tablename__ = "process_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    detail: Mapped[str | None] = mapped_column(String(200))
