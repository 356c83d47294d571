"""Database models of the SVP assistant (SQLAlchemy 2.0, typed)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from knowledge.store.db import Base, UtcDateTime
from knowledge.text import fold
from knowledge.timeutil import utcnow


class OrganisationKind(enum.StrEnum):
    """Legal kind of a member organisation."""

    OPH = "oph"
    ESH = "esh"
    COOPERATIVE = "cooperative"
    SEM = "sem"
    ASSOCIATION = "association"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        """French label shown to people."""
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.OPH: "OPH",
    OrganisationKind.ESH: "ESH",
    OrganisationKind.COOPERATIVE: "Coopérative",
    OrganisationKind.SEM: "SEM",
    OrganisationKind.ASSOCIATION: "Association",
    OrganisationKind.AUTRE: "Autre",
}


class EntryStatus(enum.StrEnum):
    """Whether an entry may be suggested."""

    ACTIVE = "active"
    RETIRED = "retired"


class TicketStatus(enum.StrEnum):
    """Where a question stands in the advisers' workflow."""

    NEW = "new"
    IN_REVIEW = "in_review"
    WAITING_ASKER = "waiting_asker"
    ANSWERED = "answered"
    SELF_SERVED = "self_served"
    REJECTED = "rejected"


TICKET_STATUS_LABELS = {
    TicketStatus.NEW: "Nouvelle",
    TicketStatus.IN_REVIEW: "En cours d'examen",
    TicketStatus.WAITING_ASKER: "En attente du demandeur",
    TicketStatus.ANSWERED: "Répondue",
    TicketStatus.SELF_SERVED: "Résolue par une réponse existante",
    TicketStatus.REJECTED: "Rejetée",
}


class AskerStatus(enum.StrEnum):
    """Registration state of a member organisation's staff member."""

    PENDING = "pending"
    APPROVED = "approved"
    BLOCKED = "blocked"
    ERASED = "erased"


class UserRole(enum.StrEnum):
    """Role of a web admin account."""

    ADVISER = "adviser"
    ADMIN = "admin"


class OutboxStatus(enum.StrEnum):
    """Delivery state of a message to send through Telegram."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxKind(enum.StrEnum):
    """Why a message is sent."""

    ANSWER = "answer"
    CLARIFICATION = "clarification"
    REJECTION = "rejection"
    CORRECTION = "correction"
    FOLLOW_UP = "follow_up"
    NOTIFICATION = "notification"
    REGISTRATION = "registration"
    RECEIPT = "receipt"
    FEEDBACK_PROMPT = "feedback_prompt"
    REMINDER = "reminder"  # the weekly list of entries to review, to advisers
    DIGEST = "digest"


class MessageAuthor(enum.StrEnum):
    """Who wrote a message of a ticket's thread."""

    ASKER = "asker"
    ADVISER = "adviser"
    SYSTEM = "system"




class Organisation(Base):
    """A member organisation (social landlord) whose staff may ask questions."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=OrganisationKind.AUTRE.value)
    departement: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_code_created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Mail domains of its staff (« habitat-med.fr »): their addresses may sign in to the help
    # centre.
    email_domains: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KnowledgeEntry(Base):
    """A validated question and answer that later questions are matched against."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    theme: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_references: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.ACTIVE.value, index=True)
    review_by: Mapped[date | None] = mapped_column(Date)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    question_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Question and answer folded (lower case, no accents): the text filter's haystack on
    # every database, kept in step by the listener below.
    search_text: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(200))
    # The question this entry was first published from (no foreign key: tickets point here).
    origin_ticket_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    revisions: Mapped[list[EntryRevision]] = relationship(
        back_populates="entry", order_by="EntryRevision.revision", cascade="all, delete-orphan"
    )


class EntryRevision(Base):
    """One revision of an entry: what it said, who wrote it, when and why (1 = creation)."""

    __tablename__ = "entry_revisions"
    __table_args__ = (UniqueConstraint("entry_id", "revision", name="uq_entry_revisions_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    theme: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_references: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    review_by: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)  # form only: askers not told
    restored_from: Mapped[int | None] = mapped_column(Integer)

    entry: Mapped[KnowledgeEntry] = relationship(back_populates="revisions")


@event.listens_for(KnowledgeEntry, "before_insert")
@event.listens_for(KnowledgeEntry, "before_update")
def _fold_search_text(_mapper: Mapper[Any], _connection: Any, entry: KnowledgeEntry) -> None:
    entry.search_text = fold(f"{entry.question}\n{entry.answer}")


class User(Base):
    """An adviser or administrator of the web admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=UserRole.ADVISER.value)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_link_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_link_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Second factor (TOTP): the secret is set at enrolment and used once confirmed. Stored
    # sealed (`v1:<key id>:<token>`, knowledge/people/sealed_secrets.py), never in clear.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # no code used twice
    # Where the adviser reads mail, and what they chose to receive there ("new_question",
    # "follow_up", "reminder"); nothing is sent by email to an adviser without an address.
    email: Mapped[str | None] = mapped_column(String(254))
    email_notifications: Mapped[list[str]] = mapped_column(JSON, default=list,
                                                           server_default="[]")


class WebSession(Base):
    """A server-side login session of the web admin; the cookie holds only a random token."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Password checked, second factor not yet: the session opens nothing but that step.
    second_factor_pending: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())


class LoginAttempt(Base):
    """One login attempt, kept to rate-limit by address and by account."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_login_at", "login", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(100))
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class Asker(Base):
    """A staff member of a member organisation who asks questions through Telegram."""

    __tablename__ = "askers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_username: Mapped[str | None] = mapped_column(String(100))
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=AskerStatus.PENDING.value, index=True)
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    # Opt-in (`/abonnement` in the bot) to the monthly digest "Les réponses du SVP".
    digest_subscribed: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    # How the answers to the questions asked in the help centre reach this asker: None or
    # "email" by email, "telegram" in Telegram (chosen in « Mes questions », needs a chat).
    web_notify: Mapped[str | None] = mapped_column(String(16))

    organisation: Mapped[Organisation | None] = relationship()


class Ticket(Base):
    """A question asked by a staff member, from arrival to answer."""

    __tablename__ = "tickets"
    # A Telegram message is stored at most once, however often its update is replayed; the
    # queue lists open tickets oldest first, and "mes questions" counts per adviser.
    __table_args__ = (
        UniqueConstraint("telegram_chat_id", "telegram_message_id",
                         name="uq_tickets_telegram_message"),
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_assigned_status", "assigned_to_id", "status"),
        # The daily retention purge looks for questions closed before a date.
        Index("ix_tickets_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.NEW.value, index=True)
    asker_id: Mapped[int | None] = mapped_column(
        ForeignKey("askers.id", ondelete="SET NULL"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entries.id", ondelete="SET NULL"), index=True
    )
    theme: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    # A question asked by email: its Message-ID and subject, to thread the replies on it.
    email_message_id: Mapped[str | None] = mapped_column(String(998))
    email_subject: Mapped[str | None] = mapped_column(String(300))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    top_score: Mapped[float | None] = mapped_column(Float)
    suggested_entry_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    feedback: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The adviser's saved draft (answer, question, theme, references, publication, entry).
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft_saved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    asker: Mapped[Asker | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    assigned_to: Mapped[User | None] = relationship()
    entry: Mapped[KnowledgeEntry | None] = relationship()
    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )


class TicketMessage(Base):
    """One message of a ticket's thread (question, clarification, answer, note)."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32), default="question")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


class OutboxChannel(enum.StrEnum):
    """How an outbox row reaches its reader; each channel's delivery job drains its own rows."""

    TELEGRAM = "telegram"
    EMAIL = "email"


class Outbox(Base):
    """A message to send, through Telegram or by email; each channel's job drains its rows."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_channel_status_next", "channel", "status",
                            "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default=OutboxChannel.TELEGRAM.value,
                                         server_default=OutboxChannel.TELEGRAM.value)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # Telegram rows
    # Email rows: the address, the subject, and the Message-ID fixed when queued, so that a
    # message sent again after a crash carries the same one (the reader's client keeps one).
    email_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    mail_message_id: Mapped[str | None] = mapped_column(String(255))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))  # the asker's own message
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("askers.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    # True: `text` uses the light markup of knowledge.desk.formatting (bold, italics, links).
    formatted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """Who did what to which object, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DigestSend(Base):
    """One monthly digest queued for one subscriber: at most once per month and asker."""

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("month", "asker_id", name="uq_digest_sends_month_asker"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    asker_id: Mapped[int] = mapped_column(ForeignKey("askers.id", ondelete="CASCADE"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    sent_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# Tables kept in their own modules, imported here so the metadata knows every table.
from knowledge.store import (  # noqa: E402, F401
    api_models,
    catalog_models,
    login_security,
    mail_models,
    member_models,
    vocabulary,
    watch_models,
)
from knowledge.store.desk_tables import ProcessHeartbeat, ReplyTemplate  # noqa: E402, F401
from knowledge.store.runstate import (  # noqa: E402, F401
    ConversationState,
    GroupNotice,
    InboxUpdate,
    IndexReader,
    TelegramUserData,
)
