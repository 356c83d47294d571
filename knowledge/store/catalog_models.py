"""Database models of the catalog: managed themes, corrections sent to askers, pending uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class Theme(Base):
    """A theme of the managed list entries are filed under."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    folded: Mapped[str] = mapped_column(String(200), unique=True)  # lookups ignore case, accents
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EntryCorrection(Base):
    """A correction of one revision of an entry sent to one asker (at most once)."""

    __tablename__ = "entry_corrections"
    __table_args__ = (UniqueConstraint("entry_id", "revision", "retired", "asker_id",
                                       name="uq_entry_corrections_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"),
                                          index=True)
    revision: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)  # told the entry was withdrawn
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("askers.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    sent_by: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImportUpload(Base):
    """A file uploaded on the web and checked by a dry run, kept until it is imported."""

    __tablename__ = "import_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(300))
    fmt: Mapped[str | None] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
