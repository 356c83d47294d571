"""Tables of the email channel and of documents: the durable mail inbox, one-click actions
sent by email, and the files attached to questions, answers and entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class MailInboxMessage(Base):
    """A message read from the IMAP mailbox, committed before the server is told it was read.

    Keyed by the mailbox's UIDVALIDITY and the message's UID: reading the same message again
    (a crash before the flag) stores nothing more; the Message-ID finds a copy under another
    UID. Processed from here, idempotently, like the Telegram inbox.
    """

    __tablename__ = "mail_inbox"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_mail_inbox_uid"),
        Index("ix_mail_inbox_pending", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sender: Mapped[str | None] = mapped_column(String(254))
    size: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # told to the server
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What became of it: "question", "follow_up", "auto_reply", "unknown_sender", ...
    outcome: Mapped[str | None] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True)


class MailAction(Base):
    """A one-click link of an email receipt (« Cette réponse me suffit », « J'attends un
    conseiller »): single use, expiring; only the sha256 of its token is kept."""

    __tablename__ = "mail_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    action: Mapped[str] = mapped_column(String(16))  # "self_served" or "wait"
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Attachment(Base):
    """A file received with a question or a follow-up, sent by an adviser, or kept by an entry.

    An asker's upload belongs to its ticket (personal data: retention, export, erasure); an
    entry's document (the model letter) to its entry. Never rendered inline from the upload.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    ticket_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" (from the asker) or "out"
    source: Mapped[str] = mapped_column(String(16))  # "telegram", "email", "adviser"
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # Telegram's stable id of the file: a replayed update does not store it twice.
    telegram_file_unique_id: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
