"""Entries flagged when an article or a text they cite changed after they were last verified."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.store.watch_models import EntryLegalFlag, LegalArticleVersion, LegalTextVersion
from knowledge.text import Piece, fold, word_diff
from knowledge.timeutil import utcnow
from knowledge.watch.cited import Citation, citations
from knowledge.watch.legal_text import french_day, is_open
from knowledge.watch.ranges import ArticleIndex
from knowledge.watch.references import LegalReference, TextNames

logger = logging.getLogger(__name__)

ENDED = {"ABROGE", "ABROGE_DIFF", "TRANSFERE", "PERIME", "ANNULE", "DISJOINT"}
_EARLIEST = date.min
ACTOR = "veille"  # who raises flags, in the audit log and the entry's history
_FEMININE = {"loi", "ordonnance", "circulaire", "instruction"}


@dataclass(frozen=True)
class Finding:
    """A change of a cited text after the entry's last verification."""

    reference: str
    kind: str  # modified, repealed, transferred
    change_key: str
    reason: str
    effective_on: date | None
    old_version_id: str | None
    new_version_id: str | None


class _Store:
    """The kept versions, grouped the ways citations look them up."""

    def __init__(self, session: Session) -> None:
        self.articles: dict[tuple[str, str], list[LegalArticleVersion]] = defaultdict(list)
        for version in session.scalars(select(LegalArticleVersion)):
            self.articles[(version.text_cid, version.num)].append(version)
        for key, versions in self.articles.items():
            self.articles[key] = chronological(versions)
        self.texts_by_cid: dict[str, list[LegalTextVersion]] = defaultdict(list)
        self.texts_by_number: dict[tuple[str, str], list[LegalTextVersion]] = defaultdict(list)
        for text in session.scalars(select(LegalTextVersion)):
            self.texts_by_cid[text.cid].append(text)
            if text.num:
                self.texts_by_number[(fold(text.nature or ""), text.num)].append(text)
        self.index = ArticleIndex(self.articles)

    def __bool__(self) -> bool:
        return bool(self.articles) or bool(self.texts_by_cid)

    def article_keys(self, reference: LegalReference) -> list[tuple[str, str]]:
        """The stored articles a reference names (every one inside a range)."""
        if reference.article is None:
            return []
        cids = [reference.cid] if reference.cid else []
        if not cids and reference.nature and reference.number:
            cids = [text.cid for text in self.texts_by_number.get(
                (fold(reference.nature), reference.number), [])]
        keys: list[tuple[str, str]] = []
        for cid in dict.fromkeys(cids):
            if reference.article_end is None:
                if (cid, reference.article) in self.articles:
                    keys.append((cid, reference.article))
            elif reference.cid == cid:
                keys.extend((cid, num) for num in self.index.inside(reference))
        return sorted(keys)

    def texts(self, reference: LegalReference) -> list[LegalTextVersion]:
        """The stored versions of a cited text (not of a code)."""
        if reference.kind != "text":
            return []
        found = list(self.texts_by_cid.get(reference.cid, [])) if reference.cid else []
        if not found and reference.nature and reference.number:
            found = list(self.texts_by_number.get((fold(reference.nature), reference.number), []))
        return sorted(found, key=lambda t: (t.date_debut or _EARLIEST, t.id))


def chronological(versions: Iterable[LegalArticleVersion]) -> list[LegalArticleVersion]:
    """Versions by start date (an unknown start first), as `in_force` expects them."""
    return sorted(versions, key=lambda v: (v.date_debut or _EARLIEST, v.id))


def in_force(versions: Sequence[LegalArticleVersion], day: date) -> LegalArticleVersion | None:
    """The version in force on `day` (versions sorted by start date), if one is kept."""
    candidates = [v for v in versions if (v.date_debut or _EARLIEST) <= day
                  and (is_open(v.date_fin) or (v.date_fin is not None and v.date_fin > day))]
    return candidates[-1] if candidates else None


def _when(day: date, today: date, *, ended: bool = False) -> str:
    if day > today:
        return f"à compter du {french_day(day)} (à venir)"
    return f"le {french_day(day)}" if ended else f"en vigueur le {french_day(day)}"


def article_finding(*, label: str, article: str, versions: Sequence[LegalArticleVersion],
                    verified: date, today: date, in_range: bool = False) -> Finding | None:
    """The change of one article (cited alone, or inside the range `label`) after `verified`."""
    at_check = in_force(versions, verified)
    later = [v for v in versions if v.date_debut is not None and v.date_debut > verified]
    final = later[-1] if later else at_check
    if final is None:
        return None
    name = f"art. {article} ({label})" if in_range else label
    if final.etat in ENDED and not is_open(final.date_fin) and final.date_fin is not None \
            and final.date_fin > verified:
        kind = "transferred" if final.etat == "TRANSFERE" else "repealed"
        verb = "transféré (renuméroté)" if kind == "transferred" else "abrogé"
        return Finding(reference=label, kind=kind, change_key=f"{final.id}:{kind}",
                       reason=f"{name} {verb} {_when(final.date_fin, today, ended=True)}",
                       effective_on=final.date_fin,
                       old_version_id=at_check.id if at_check else None,
                       new_version_id=final.id)
    if later:
        when = _when(final.date_debut or verified, today)
        return Finding(reference=label, kind="modified", change_key=f"{final.id}:modified",
                       reason=f"{name} modifié, nouvelle version {when}",
                       effective_on=final.date_debut,
                       old_version_id=at_check.id if at_check else None,
                       new_version_id=final.id)
    if at_check is not None and not is_open(at_check.date_fin) \
            and at_check.date_fin is not None and at_check.date_fin > verified:
        # The version in force at the check ends, and the next one is not imported yet.
        return Finding(reference=label, kind="modified", change_key=f"{at_check.id}:ends",
                       reason=f"{name} modifié {_when(at_check.date_fin, today, ended=True)} "
                              "(nouvelle version pas encore importée)",
                       effective_on=at_check.date_fin, old_version_id=at_check.id,
                       new_version_id=None)
    return None


def text_finding(*, label: str, versions: Sequence[LegalTextVersion], verified: date,
                 today: date) -> Finding | None:
    """A cited law or decree repealed after `verified`, if it was."""
    if not versions:
        return None
    final = versions[-1]
    if final.etat in ENDED and not is_open(final.date_fin) and final.date_fin is not None \
            and final.date_fin > verified:
        # « la loi … abrogée », « le décret … abrogé ».
        verb = "abrogée" if fold(final.nature or "") in _FEMININE else "abrogé"
        return Finding(reference=label, kind="repealed", change_key=f"{final.id}:repealed",
                       reason=f"{label} {verb} {_when(final.date_fin, today, ended=True)}",
                       effective_on=final.date_fin, old_version_id=None,
                       new_version_id=final.id)
    return None


def findings(citation: Citation, *, store: _Store, today: date) -> list[Finding]:
    """Every change of what one citation names since the entry's last verification."""
    reference = citation.reference
    if reference.kind == "text":
        found = text_finding(label=reference.label, versions=store.texts(reference),
                             verified=citation.verified_on, today=today)
        return [found] if found else []
    result = []
    for key in store.article_keys(reference):
        found = article_finding(label=reference.label, article=key[1],
                                versions=store.articles[key], verified=citation.verified_on,
                                today=today, in_range=reference.article_end is not None)
        if found is not None:
            result.append(found)
    return result


def refresh(*, session: Session, names: TextNames, today: date, import_id: int | None = None,
            entry_ids: Collection[int] | None = None,
            found: Sequence[Citation] | None = None) -> int:
    """Raise the flags the kept versions call for; return how many are new.

    Silent without any imported version. A change already flagged (settled or not) is not
    raised again; an open flag a newer change of the same reference replaces is closed.
    """
    store = _Store(session)
    if not store:
        return 0
    found_by_entry: dict[int, list[Finding]] = defaultdict(list)
    verified: dict[int, date] = {}
    if found is None:
        found = citations(session=session, names=names, entry_ids=entry_ids)
    for citation in found:
        verified[citation.entry_id] = citation.verified_on
        found_by_entry[citation.entry_id].extend(findings(citation, store=store, today=today))
    if not found_by_entry:
        return 0
    existing: dict[int, list[EntryLegalFlag]] = defaultdict(list)
    for flag in session.scalars(select(EntryLegalFlag).where(
            EntryLegalFlag.entry_id.in_(list(found_by_entry)))):
        existing[flag.entry_id].append(flag)
    raised = 0
    now = utcnow()
    for entry_id, entry_findings in found_by_entry.items():
        known = {(flag.reference, flag.change_key) for flag in existing[entry_id]}
        current = {(finding.reference, finding.change_key) for finding in entry_findings}
        for flag in existing[entry_id]:
            if flag.resolved_at is None and (flag.reference, flag.change_key) not in current \
                    and any(reference == flag.reference for reference, _ in current):
                flag.resolved_at, flag.resolved_by, flag.resolution = now, ACTOR, "superseded"
        for finding in entry_findings:
            if (finding.reference, finding.change_key) in known:
                continue
            known.add((finding.reference, finding.change_key))
            session.add(EntryLegalFlag(
                entry_id=entry_id, reference=finding.reference, kind=finding.kind,
                change_key=finding.change_key, reason=finding.reason,
                effective_on=finding.effective_on, old_version_id=finding.old_version_id,
                new_version_id=finding.new_version_id, verified_on=verified[entry_id],
                import_id=import_id, created_at=now))
            raised += 1
            audit.record(session=session, actor=ACTOR, action="entry.legal_flag",
                         object_type="entry", object_id=entry_id,
                         details={"reference": finding.reference, "reason": finding.reason})
    session.flush()
    if raised:
        logger.info("%s entries flagged by a change of the texts they cite", raised)
    return raised


def open_flags(*, session: Session, entry_id: int | None = None) -> list[EntryLegalFlag]:
    """Unsettled flags of active entries (of one entry), soonest change first."""
    query = (select(EntryLegalFlag).join(KnowledgeEntry,
                                         KnowledgeEntry.id == EntryLegalFlag.entry_id)
             .where(EntryLegalFlag.resolved_at.is_(None),
                    KnowledgeEntry.status == EntryStatus.ACTIVE.value))
    if entry_id is not None:
        query = query.where(EntryLegalFlag.entry_id == entry_id)
    return list(session.scalars(query.order_by(EntryLegalFlag.effective_on,
                                               EntryLegalFlag.entry_id, EntryLegalFlag.id)))


def flagged_entries(*, session: Session) -> list[tuple[KnowledgeEntry, list[EntryLegalFlag]]]:
    """Active entries with unsettled flags, with their flags, soonest change first."""
    grouped: dict[int, list[EntryLegalFlag]] = {}
    for flag in open_flags(session=session):
        grouped.setdefault(flag.entry_id, []).append(flag)
    entries = {entry.id: entry for entry in session.scalars(
        select(KnowledgeEntry).where(KnowledgeEntry.id.in_(list(grouped))))}
    return [(entries[entry_id], found) for entry_id, found in grouped.items()]


def settle(*, session: Session, entry_id: int, actor: str,
           resolution: str) -> list[EntryLegalFlag]:
    """Settle an entry's open flags: checked against the new text, or revised."""
    settled = open_flags(session=session, entry_id=entry_id)
    now = utcnow()
    for flag in settled:
        flag.resolved_at, flag.resolved_by, flag.resolution = now, actor, resolution
    session.flush()
    return settled


@dataclass(frozen=True)
class FlagDetail:
    """A flag with the article as it was at the check and as it is now, and their diff."""

    flag: EntryLegalFlag
    old: LegalArticleVersion | None
    new: LegalArticleVersion | None
    diff: tuple[Piece, ...]


def details(*, session: Session, flags: Sequence[EntryLegalFlag]) -> list[FlagDetail]:
    """Each flag with its two versions and the word diff between them."""
    result = []
    for flag in flags:
        old = session.get(LegalArticleVersion, flag.old_version_id) \
            if flag.old_version_id else None
        new = session.get(LegalArticleVersion, flag.new_version_id) \
            if flag.new_version_id else None
        diff: tuple[Piece, ...] = ()
        if old is not None and new is not None and flag.kind == "modified":
            diff = word_diff(old.content, new.content)
        result.append(FlagDetail(flag=flag, old=old, new=new, diff=diff))
    return result
