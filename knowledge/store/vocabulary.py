"""Models of the search vocabulary: the sector glossary and the learnt phrasings of entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.store.db import Base, UtcDateTime
from knowledge.timeutil import utcnow


class GlossaryTerm(Base):
    """A term of the sector (acronym, jargon, older name) and the words that mean the same."""

    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    # Accent-folded, lower-case term: one row per term whatever its spelling.
    term_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Equivalent forms, one per line (expansion of an acronym, synonyms, colloquial names).
    synonyms: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EntryPhrasing(Base):
    """Another way of asking what an entry answers, learnt from a validated answer.

    Its vector joins the index under an id that also names the entry (see
    `knowledge.retrieval.embeddings.phrasing_vector_id`), so a hit on it scores the entry.
    """

    __tablename__ = "entry_phrasings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"),
                                          index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    model_id: Mapped[str | None] = mapped_column(String(200))
    dim: Mapped[int | None] = mapped_column(Integer)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
