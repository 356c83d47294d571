"""Tables of the members' help centre: one-time sign-in links and member sessions.

Only the sha256 of a link's or a session's token is stored: a copy of the database opens
nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class MemberLink(Base):
    """A one-time sign-in link sent to a member's address: single use, short-lived."""

    __tablename__ = "member_links"
    __table_args__ = (Index("ix_member_links_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("askers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))


class MemberSession(Base):
    """A signed-in member of the help centre; the cookie holds only a random token."""

    __tablename__ = "member_sessions"
    __table_args__ = (Index("ix_member_sessions_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    email: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("askers.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EntryFeedback(Base):
    """A member's « utile / pas utile » on an entry read in the help centre (one per member)."""

    __tablename__ = "entry_feedback"
    __table_args__ = (UniqueConstraint("entry_id", "member_key",
                                       name="uq_entry_feedback_entry_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"),
                                          index=True)
    # A keyed hash of the member's address: one opinion each, no address kept.
    member_key: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    value: Mapped[int] = mapped_column(Integer)  # 1 useful, -1 not useful
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HelpCount(Base):
    """How often the help centre served something, per day, organisation and kind.

    Counters only, no person and no cookie: `organisation_key` is the organisation's id, 0 for
    anonymous readers (not a foreign key, so that 0 fits and the past stays counted).
    """

    __tablename__ = "help_counts"
    __table_args__ = (UniqueConstraint("day", "organisation_key", "kind",
                                       name="uq_help_counts_day_organisation_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    organisation_key: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=0)
