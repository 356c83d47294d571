"""The knowledge base as members read it: active entries only, by theme, newest, most asked.

What the help centre shows never includes a retired entry, and a member's « utile / pas
utile » counts with the askers' opinions that advisers already see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog import themes, usage
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.member_models import EntryFeedback
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.timeutil import utcnow


@dataclass(frozen=True)
class ThemeCount:
    """A theme of the list and how many active entries it holds."""

    name: str
    count: int


def theme_counts(*, session: Session) -> list[ThemeCount]:
    """The listed themes with their number of active entries (empty themes left out)."""
    counts = themes.entry_counts(session=session, active_only=True)
    return [ThemeCount(name=name, count=count) for name, count in counts.items() if count]


def active_entry(*, session: Session, entry_id: int) -> KnowledgeEntry:
    """An active entry; a retired or unknown one is not found (never shown to members)."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None or entry.status != EntryStatus.ACTIVE.value:
        raise NotFound("entry", entry_id)
    return entry


def in_theme(*, session: Session, theme: str, limit: int = 200) -> list[KnowledgeEntry]:
    """The active entries of a theme (every spelling of it), most recently updated first."""
    spellings = themes.spellings(session=session, name=theme) or [theme]
    return list(session.scalars(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               KnowledgeEntry.theme.in_(spellings))
        .order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc()).limit(limit)))


def newest(*, session: Session, limit: int = 6) -> list[KnowledgeEntry]:
    """The active entries published or updated last."""
    return list(session.scalars(
        select(KnowledgeEntry).where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
        .order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc()).limit(limit)))


def most_asked(*, session: Session, limit: int = 6) -> list[KnowledgeEntry]:
    """The active entries most often suggested to askers or chosen by them, busiest first."""
    counts = usage.usage(session=session)
    busiest = sorted(counts, key=lambda entry_id: (-(counts[entry_id].suggested
                                                     + counts[entry_id].solved_alone),
                                                   entry_id))
    return active_entries(session=session, entry_ids=busiest[:limit * 3])[:limit]


def active_entries(*, session: Session, entry_ids: list[int]) -> list[KnowledgeEntry]:
    """These entries, in this order, leaving out any no longer active."""
    if not entry_ids:
        return []
    found = {entry.id: entry for entry in session.scalars(select(KnowledgeEntry).where(
        KnowledgeEntry.id.in_(entry_ids), KnowledgeEntry.status == EntryStatus.ACTIVE.value))}
    return [found[entry_id] for entry_id in entry_ids if entry_id in found]


def updated_at(*, session: Session, entry_ids: list[int]) -> dict[int, datetime]:
    """When each of these entries last changed."""
    if not entry_ids:
        return {}
    return {int(row.id): row.updated_at for row in session.execute(
        select(KnowledgeEntry.id, KnowledgeEntry.updated_at)
        .where(KnowledgeEntry.id.in_(entry_ids)))}


def member_key(email: str, *, salt: str) -> str:
    """The keyed hash under which a member's opinion is kept (no address stored)."""
    return hashlib.sha256(f"{salt}\x00{email.lower()}".encode()).hexdigest()


def give_feedback(*, session: Session, entry_id: int, key: str, organisation_id: int | None,
                  value: int, actor: str) -> EntryFeedback:
    """Record (or change) a member's « utile » (1) or « pas utile » (-1) on an active entry."""
    if value not in (1, -1):
        raise InvalidInput("Avis inconnu : choisissez « utile » ou « pas utile ».")
    active_entry(session=session, entry_id=entry_id)
    row = session.scalars(select(EntryFeedback).where(
        EntryFeedback.entry_id == entry_id, EntryFeedback.member_key == key)).first()
    if row is None:
        row = EntryFeedback(entry_id=entry_id, member_key=key, organisation_id=organisation_id,
                            value=value, at=utcnow())
        session.add(row)
    else:
        row.value, row.at = value, utcnow()
    audit.record(session=session, actor=actor, action="entry.feedback", object_type="entry",
                 object_id=entry_id, details={"value": value})
    return row


def feedback_of(*, session: Session, entry_id: int, key: str) -> int | None:
    """The opinion this member gave on an entry, if any."""
    return session.scalar(select(EntryFeedback.value).where(
        EntryFeedback.entry_id == entry_id, EntryFeedback.member_key == key))
