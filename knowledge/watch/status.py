"""What the watch knows: the imports, the versions kept, the flags, and a month's changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.store.watch_models import (
    EntryLegalFlag,
    LegalArticleVersion,
    LegalImport,
    LegalTextVersion,
)
from knowledge.watch.flags import flagged_entries


@dataclass(frozen=True)
class WatchStatus:
    """The last import and what the watch holds now."""

    last_import: LegalImport | None
    imports: int
    article_versions: int
    text_versions: int
    flagged: list[tuple[KnowledgeEntry, list[EntryLegalFlag]]]  # soonest change first

    @property
    def open_flags(self) -> int:
        """How many changes are still to settle."""
        return sum(len(entry_flags) for _, entry_flags in self.flagged)


def status(*, session: Session) -> WatchStatus:
    """The watch at a glance (for `svp veille status`)."""
    return WatchStatus(
        last_import=session.scalar(select(LegalImport).order_by(LegalImport.id.desc()).limit(1)),
        imports=session.scalar(select(func.count()).select_from(LegalImport)) or 0,
        article_versions=session.scalar(
            select(func.count()).select_from(LegalArticleVersion)) or 0,
        text_versions=session.scalar(select(func.count()).select_from(LegalTextVersion)) or 0,
        flagged=flagged_entries(session=session))


@dataclass(frozen=True)
class RevisedEntry:
    """An entry revised in the month because a text it cites changed."""

    entry_id: int
    question: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class MonthChanges:
    """The changes of cited texts found in a month, and the entries revised for them."""

    changes: tuple[str, ...]  # the reasons, one per changed reference
    revised: tuple[RevisedEntry, ...]

    def __bool__(self) -> bool:
        return bool(self.changes) or bool(self.revised)


def month_changes(*, session: Session, start: datetime, end: datetime) -> MonthChanges:
    """Changes flagged in [start, end) on active entries, and the entries revised for them."""
    active = select(KnowledgeEntry.id).where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
    raised = session.scalars(
        select(EntryLegalFlag).where(EntryLegalFlag.created_at >= start,
                                     EntryLegalFlag.created_at < end,
                                     EntryLegalFlag.entry_id.in_(active))
        .order_by(EntryLegalFlag.effective_on, EntryLegalFlag.id))
    reasons: dict[str, str] = {}
    for flag in raised:
        reasons.setdefault(f"{flag.reference}|{flag.change_key}", flag.reason)
    revised: dict[int, set[str]] = {}
    for flag in session.scalars(
            select(EntryLegalFlag).where(EntryLegalFlag.resolution == "revised",
                                         EntryLegalFlag.resolved_at >= start,
                                         EntryLegalFlag.resolved_at < end,
                                         EntryLegalFlag.entry_id.in_(active))):
        revised.setdefault(flag.entry_id, set()).add(flag.reference)
    questions = {entry_id: question for entry_id, question in session.execute(
        select(KnowledgeEntry.id, KnowledgeEntry.question)
        .where(KnowledgeEntry.id.in_(list(revised))))}
    return MonthChanges(
        changes=tuple(dict.fromkeys(reasons.values())),
        revised=tuple(RevisedEntry(entry_id=entry_id, question=questions.get(entry_id, ""),
                                   references=tuple(sorted(references)))
                      for entry_id, references in sorted(revised.items())))
