"""Knowledge-base entries: create, revise, retire, reinstate, get and list."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog import reviews, themes
from knowledge.errors import Conflict, InvalidInput, NotFound
from knowledge.store.models import EntryRevision, EntryStatus, KnowledgeEntry
from knowledge.text import clean, fold, question_hash
from knowledge.timeutil import utcnow
from knowledge.watch import flags as legal_flags

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4_000
MAX_ANSWER_CHARS = 200_000
MAX_THEME_CHARS = 200  # the width of the column: PostgreSQL refuses more, SQLite would not
MAX_EXTERNAL_ID_CHARS = 200


@dataclass(frozen=True)
class EntryFields:
    """The editable content of an entry."""

    question: str
    answer: str
    theme: str | None = None
    tags: tuple[str, ...] = ()
    legal_references: tuple[str, ...] = ()
    source: str | None = None
    review_by: date | None = None
    external_id: str | None = None

    def normalised(self) -> EntryFields:
        """Return a copy with texts cleaned and validated; raise InvalidInput when unusable."""
        question = clean(self.question)
        answer = clean(self.answer)
        if not question:
            raise InvalidInput("La question est vide.")
        if not answer:
            raise InvalidInput("La réponse est vide.")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidInput(f"La question dépasse {MAX_QUESTION_CHARS} caractères.")
        if len(answer) > MAX_ANSWER_CHARS:
            raise InvalidInput(f"La réponse dépasse {MAX_ANSWER_CHARS} caractères.")
        theme, external_id = _optional(self.theme), _optional(self.external_id)
        if theme is not None and len(theme) > MAX_THEME_CHARS:
            raise InvalidInput(f"Le thème dépasse {MAX_THEME_CHARS} caractères.")
        if external_id is not None and len(external_id) > MAX_EXTERNAL_ID_CHARS:
            raise InvalidInput(f"L'identifiant dépasse {MAX_EXTERNAL_ID_CHARS} caractères.")
        return replace(
            self,
            question=question,
            answer=answer,
            theme=theme,
            tags=_unique(self.tags),
            legal_references=_unique(self.legal_references),
            source=_optional(self.source),
            external_id=external_id,
        )

    @classmethod
    def of(cls, entry: KnowledgeEntry) -> EntryFields:
        """Return the current content of an entry."""
        return cls(
            question=entry.question,
            answer=entry.answer,
            theme=entry.theme,
            tags=tuple(entry.tags or ()),
            legal_references=tuple(entry.legal_references or ()),
            source=entry.source,
            review_by=entry.review_by,
            external_id=entry.external_id,
        )


@dataclass(frozen=True)
class EntryFilter:
    """Criteria for listing entries; every field left None is ignored."""

    status: str | None = EntryStatus.ACTIVE.value
    theme: str | None = None
    text: str | None = None
    review_due_on: date | None = None
    ids: Sequence[int] | None = field(default=None)
    theme_spellings: Sequence[str] | None = None  # filled by `resolved`
    updated_since: datetime | None = None  # changed at or after this instant
    after_id: int | None = None  # ids above this one only (cursor pagination)


def resolved(*, session: Session, criteria: EntryFilter) -> EntryFilter:
    """Return the criteria with the theme's spellings looked up (case and accents ignored)."""
    if not criteria.theme:
        return criteria
    return replace(criteria, theme_spellings=tuple(
        themes.spellings(session=session, name=criteria.theme)))


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = clean(value)
    return value or None


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        value = clean(value)
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def get(*, session: Session, entry_id: int) -> KnowledgeEntry:
    """Return an entry by primary key or raise NotFound."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("entry", entry_id)
    return entry


def get_by_external_id(*, session: Session, external_id: str) -> KnowledgeEntry | None:
    """Return the entry with this external id, if any."""
    return session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.external_id == external_id))


def find_by_question(*, session: Session, question: str) -> KnowledgeEntry | None:
    """Return the oldest entry whose normalised question equals this one, if any."""
    return session.scalar(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.question_hash == question_hash(question))
        .order_by(KnowledgeEntry.id)
        .limit(1)
    )


def create(
    *,
    session: Session,
    content: EntryFields,
    actor: str,
    embedder: Embedder | None = None,
    origin_ticket_id: int | None = None,
    review_months: int | None = reviews.DEFAULT_REVIEW_MONTHS,
    reason: str | None = None,
) -> KnowledgeEntry:
    """Create an active entry (revision 1, with `reason`); with an embedder, store its embedding.

    Without a review date the entry gets one `review_months` ahead (none when that is None).
    """
    content = _managed(session, content.normalised())
    if content.review_by is None and review_months:
        content = replace(content, review_by=reviews.default_review_date(utcnow().date(),
                                                                         review_months))
    if content.external_id and get_by_external_id(session=session, external_id=content.external_id):
        raise Conflict(f"Une fiche porte déjà l'identifiant « {content.external_id} ».")
    now = utcnow()
    entry = KnowledgeEntry(
        external_id=content.external_id,
        question=content.question,
        answer=content.answer,
        theme=content.theme,
        tags=list(content.tags),
        legal_references=list(content.legal_references),
        source=content.source,
        review_by=content.review_by,
        question_hash=question_hash(content.question),
        status=EntryStatus.ACTIVE.value,
        revision=1,
        created_by=actor,
        created_at=now,
        updated_at=now,
        origin_ticket_id=origin_ticket_id,
    )
    session.add(entry)
    session.flush()
    _record_revision(session=session, entry=entry, actor=actor, reason=reason)
    audit.record(session=session, actor=actor, action="entry.create", object_type="entry",
                 object_id=entry.id)
    _after_change(session=session, entry=entry, embedder=embedder)
    logger.info("entry %s created by %s", entry.id, actor)
    return entry


def update(
    *,
    session: Session,
    entry_id: int,
    content: EntryFields,
    actor: str,
    reason: str | None = None,
    embedder: Embedder | None = None,
    minor: bool = False,
    restored_from: int | None = None,
) -> KnowledgeEntry:
    """Change an entry's content as a new revision (who, when, why); older ones stay.

    Returns the entry unchanged (and writes no revision) when the content is the same.
    `minor` marks a change of form only: askers who had the previous text are not concerned.
    """
    entry = get(session=session, entry_id=entry_id)
    content = _managed(session, content.normalised())
    if content == EntryFields.of(entry):
        return entry
    if content.external_id and content.external_id != entry.external_id:
        other = get_by_external_id(session=session, external_id=content.external_id)
        if other is not None and other.id != entry.id:
            raise Conflict(f"Une fiche porte déjà l'identifiant « {content.external_id} ».")
    entry.question = content.question
    entry.answer = content.answer
    entry.theme = content.theme
    entry.tags = list(content.tags)
    entry.legal_references = list(content.legal_references)
    entry.source = content.source
    entry.review_by = content.review_by
    entry.external_id = content.external_id
    entry.question_hash = question_hash(content.question)
    _bump(entry)
    session.flush()
    _record_revision(session=session, entry=entry, actor=actor, reason=reason, minor=minor,
                     restored_from=restored_from)
    if not minor:
        # A revision of substance is the adviser's answer to a change of the texts it cites.
        legal_flags.settle(session=session, entry_id=entry.id, actor=actor,
                           resolution="revised")
    audit.record(session=session, actor=actor, action="entry.update", object_type="entry",
                 object_id=entry.id, details={"reason": reason, "revision": entry.revision})
    _after_change(session=session, entry=entry, embedder=embedder)
    logger.info("entry %s revised to %s by %s", entry.id, entry.revision, actor)
    return entry


def retire(*, session: Session, entry_id: int, actor: str, reason: str | None = None
           ) -> KnowledgeEntry:
    """Withdraw an entry from suggestions (it stays in the history)."""
    return _set_status(session=session, entry_id=entry_id, status=EntryStatus.RETIRED,
                       actor=actor, reason=reason)


def reinstate(*, session: Session, entry_id: int, actor: str, reason: str | None = None
              ) -> KnowledgeEntry:
    """Make a retired entry active again."""
    return _set_status(session=session, entry_id=entry_id, status=EntryStatus.ACTIVE,
                       actor=actor, reason=reason)


def _set_status(*, session: Session, entry_id: int, status: EntryStatus, actor: str,
                reason: str | None) -> KnowledgeEntry:
    entry = get(session=session, entry_id=entry_id)
    if entry.status == status.value:
        word = "retirée" if status is EntryStatus.RETIRED else "active"
        raise Conflict(f"La fiche {entry.id} est déjà {word}.")
    # Retiring and reinstating are events of the history (audit), not revisions of the text.
    entry.status = status.value
    entry.updated_at = utcnow()
    session.flush()
    action = "entry.retire" if status is EntryStatus.RETIRED else "entry.reinstate"
    audit.record(session=session, actor=actor, action=action, object_type="entry",
                 object_id=entry.id, details={"reason": reason})
    _after_change(session=session, entry=entry, embedder=None)
    logger.info("entry %s %s by %s", entry.id, status.value, actor)
    return entry


def list_entries(
    *, session: Session, criteria: EntryFilter | None = None, limit: int | None = None,
    offset: int = 0,
) -> list[KnowledgeEntry]:
    """List entries matching the criteria, newest id last."""
    query = _filtered(resolved(session=session, criteria=criteria or EntryFilter())).order_by(
        KnowledgeEntry.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.offset(offset)))


def count_entries(*, session: Session, criteria: EntryFilter | None = None) -> int:
    """Count the entries matching the criteria."""
    subquery = _filtered(resolved(session=session, criteria=criteria or EntryFilter())).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def revisions(*, session: Session, entry_id: int) -> list[EntryRevision]:
    """Return the revisions of an entry, oldest (1, the creation) first."""
    get(session=session, entry_id=entry_id)
    return list(session.scalars(
        select(EntryRevision).where(EntryRevision.entry_id == entry_id)
        .order_by(EntryRevision.revision)
    ))


def _filtered(criteria: EntryFilter) -> Select[KnowledgeEntry]:
    query = select(KnowledgeEntry)
    if criteria.status:
        query = query.where(KnowledgeEntry.status == criteria.status)
    if criteria.theme:
        query = query.where(KnowledgeEntry.theme.in_(criteria.theme_spellings or ()))
    if criteria.text:
        folded = fold(criteria.text)
        if folded:
            # The folded column makes the filter ignore case and accents on every database.
            query = query.where(KnowledgeEntry.search_text.like(f"%{_escape_like(folded)}%",
                                                                escape="\\"))
        else:  # only punctuation: look for it literally
            pattern = f"%{_escape_like(criteria.text.strip())}%"
            query = query.where(or_(KnowledgeEntry.question.like(pattern, escape="\\"),
                                    KnowledgeEntry.answer.like(pattern, escape="\\")))
    if criteria.review_due_on:
        query = query.where(KnowledgeEntry.review_by <= criteria.review_due_on)
    if criteria.ids is not None:
        query = query.where(KnowledgeEntry.id.in_(list(criteria.ids)))
    if criteria.updated_since is not None:
        query = query.where(KnowledgeEntry.updated_at >= criteria.updated_since)
    if criteria.after_id is not None:
        query = query.where(KnowledgeEntry.id > criteria.after_id)
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _managed(session: Session, content: EntryFields) -> EntryFields:
    return replace(content, theme=themes.canonical(session=session, name=content.theme))


def _record_revision(*, session: Session, entry: KnowledgeEntry, actor: str, reason: str | None,
                     minor: bool = False, restored_from: int | None = None) -> None:
    session.add(EntryRevision(
        entry_id=entry.id,
        revision=entry.revision,
        question=entry.question,
        answer=entry.answer,
        theme=entry.theme,
        tags=list(entry.tags or []),
        legal_references=list(entry.legal_references or []),
        source=entry.source,
        status=entry.status,
        review_by=entry.review_by,
        actor=actor,
        reason=reason,
        changed_at=entry.updated_at,
        minor=minor,
        restored_from=restored_from,
    ))


def _bump(entry: KnowledgeEntry) -> None:
    entry.revision += 1
    entry.updated_at = utcnow()


def _after_change(*, session: Session, entry: KnowledgeEntry, embedder: Embedder | None) -> None:
    # The retrieval layer keeps stored embeddings and the index change log in step with entries.
    from knowledge.retrieval import embeddings

    embeddings.entry_changed(session=session, entry=entry, embedder=embedder)

