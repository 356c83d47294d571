"""Tables of the regulatory watch: the LEGI archives imported, the versions kept of the
articles and texts that entries cite, and the entries flagged when one of them changed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class LegalImport(Base):
    """One LEGI archive imported: its name, checksum and what it brought (once per checksum)."""

    __tablename__ = "legal_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    archive_name: Mapped[str] = mapped_column(String(300))
    archive_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "global" or "increment"
    stamp: Mapped[str | None] = mapped_column(String(20))  # YYYYMMDD-HHMMSS of the archive
    files_read: Mapped[int] = mapped_column(Integer, default=0)
    articles_kept: Mapped[int] = mapped_column(Integer, default=0)
    texts_kept: Mapped[int] = mapped_column(Integer, default=0)
    new_versions: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    flags_raised: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LegalArticleVersion(Base):
    """One version of an article (LEGIARTI id) of a code or a text that an entry cites."""

    __tablename__ = "legal_article_versions"
    __table_args__ = (Index("ix_legal_article_versions_num", "text_cid", "num"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # LEGIARTI…
    text_cid: Mapped[str] = mapped_column(String(20))  # LEGITEXT… of a code, JORFTEXT… of a law
    num: Mapped[str] = mapped_column(String(50))
    etat: Mapped[str | None] = mapped_column(String(20))
    date_debut: Mapped[date | None] = mapped_column(Date)
    date_fin: Mapped[date | None] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text, default="")  # plain text, paragraphs by \n\n
    content_hash: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_imports.id", ondelete="SET NULL"))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LegalTextVersion(Base):
    """One version of a text (law, decree, code…) that an entry cites, by its LEGITEXT id."""

    __tablename__ = "legal_text_versions"
    __table_args__ = (Index("ix_legal_text_versions_num", "nature", "num"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    cid: Mapped[str] = mapped_column(String(20), index=True)
    nature: Mapped[str | None] = mapped_column(String(30))
    num: Mapped[str | None] = mapped_column(String(50))
    date_texte: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text, default="")
    etat: Mapped[str | None] = mapped_column(String(20))
    date_debut: Mapped[date | None] = mapped_column(Date)
    date_fin: Mapped[date | None] = mapped_column(Date)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_imports.id", ondelete="SET NULL"))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EntryLegalFlag(Base):
    """An entry to re-read because a text it cites changed after it was last verified.

    One row per entry, reference and change (the version that brought it): importing the
    same change again, or after the adviser settled it, raises nothing new.
    """

    __tablename__ = "entry_legal_flags"
    __table_args__ = (
        UniqueConstraint("entry_id", "reference", "change_key", name="uq_entry_legal_flags"),
        Index("ix_entry_legal_flags_open", "resolved_at", "entry_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(300))  # the normalised label
    kind: Mapped[str] = mapped_column(String(16))  # modified, repealed, transferred
    change_key: Mapped[str] = mapped_column(String(64))  # version id and kind of the change
    reason: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date | None] = mapped_column(Date)
    old_version_id: Mapped[str | None] = mapped_column(String(20))
    new_version_id: Mapped[str | None] = mapped_column(String(20))
    verified_on: Mapped[date | None] = mapped_column(Date)  # the entry's check it contradicts
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_imports.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(16))  # still_right, revised, superseded
