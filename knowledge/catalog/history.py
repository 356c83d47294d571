"""The history of an entry as advisers read it: revisions, events, word diffs, restoring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.catalog import entries, personal_data
from knowledge.catalog.entries import EntryFields
from knowledge.errors import Conflict, NotFound
from knowledge.store.models import EntryRevision, KnowledgeEntry, User
from knowledge.text import Piece, word_diff

if TYPE_CHECKING:
    from index.embedders import Embedder

# The fields a diff compares, with their French labels.
FIELD_LABELS = {
    "question": "Question", "answer": "Réponse", "theme": "Thème", "tags": "Mots-clés",
    "legal_references": "Références", "source": "Source",
}
EVENT_LABELS = {
    "entry.retire": "Retirée des suggestions",
    "entry.reinstate": "Rétablie",
    "entry.verify": "Vérifiée, toujours juste",
    "entry.legal_flag": "Signalée : un texte cité a changé",
    "entry.legal_still_right": "Toujours juste avec le texte modifié",
    "entry.correction": "Correction envoyée aux demandeurs",
}
_ACTOR_NAMES = {"cli": "Ligne de commande", "demo": "Données de démonstration",
                "import": "Import", "bot": "Bot Telegram", "veille": "Veille réglementaire"}


@dataclass(frozen=True)
class HistoryItem:
    """One line of an entry's history: a revision of its text, or an event (retired...)."""

    at: datetime
    actor: str
    actor_name: str
    label: str
    reason: str | None = None
    revision: EntryRevision | None = None
    changed: tuple[str, ...] = ()  # French labels of the fields the revision changed
    substantive: bool = False  # the question or the answer changed (askers may be concerned)


@dataclass(frozen=True)
class FieldDiff:
    """The word-level diff of one field between two revisions."""

    name: str
    label: str
    pieces: tuple[Piece, ...]

    @property
    def changed(self) -> bool:
        """Tell whether the field differs."""
        return any(piece.op != "equal" for piece in self.pieces)


@dataclass(frozen=True)
class EntryDiff:
    """What changed between two revisions of an entry."""

    entry_id: int
    older: EntryRevision
    newer: EntryRevision
    fields: tuple[FieldDiff, ...]


def actor_name(actor: str, names: dict[str, str]) -> str:
    """The name to show for an actor (`user:login` becomes the adviser's display name)."""
    if actor.startswith("user:"):
        return names.get(actor[5:], actor[5:])
    if actor.startswith("asker:"):
        return f"Demandeur n° {actor[6:]}"
    if actor.startswith("import"):
        return "Import"
    return _ACTOR_NAMES.get(actor, actor)


def display_names(*, session: Session) -> dict[str, str]:
    """Display names of the web accounts by login."""
    return {login: name for login, name in session.execute(select(User.login, User.display_name))}


def field_text(state: EntryRevision | KnowledgeEntry, name: str) -> str:
    """A field of a revision as text (lists one item per line)."""
    value = getattr(state, name)
    if isinstance(value, list | tuple):
        return "\n".join(value)
    return value or ""


def changed_fields(before: EntryRevision | None, after: EntryRevision) -> tuple[str, ...]:
    """Names of the fields that differ between two revisions (all of them for the first)."""
    if before is None:
        return tuple(FIELD_LABELS)
    return tuple(name for name in FIELD_LABELS
                 if field_text(before, name) != field_text(after, name))


def is_substantive(before: EntryRevision | None, after: EntryRevision) -> bool:
    """A revision changes the substance when its question or answer changed (and not minor)."""
    if before is None or after.minor:
        return False
    return any(name in ("question", "answer") for name in changed_fields(before, after))


def history(*, session: Session, entry_id: int) -> list[HistoryItem]:
    """Revisions and events of an entry, oldest first."""
    revisions = entries.revisions(session=session, entry_id=entry_id)
    names = display_names(session=session)
    items: list[HistoryItem] = []
    previous: EntryRevision | None = None
    for revision in revisions:
        changed = changed_fields(previous, revision)
        if revision.restored_from is not None:
            label = f"Révision {revision.revision} (restauration de la révision " \
                    f"{revision.restored_from})"
        elif previous is None:
            label = "Révision 1 (création)"
        else:
            label = f"Révision {revision.revision}"
        items.append(HistoryItem(
            at=revision.changed_at, actor=revision.actor,
            actor_name=actor_name(revision.actor, names), label=label, reason=revision.reason,
            revision=revision, changed=tuple(FIELD_LABELS[name] for name in changed),
            substantive=is_substantive(previous, revision)))
        previous = revision
    for event in audit.for_object(session=session, object_type="entry", object_id=entry_id):
        if event.action not in EVENT_LABELS:
            continue
        details = event.details or {}
        reason = details.get("reason")
        if event.action == "entry.verify":
            reason = f"prochaine vérification le {_french_date(details.get('until'))}"
        elif event.action == "entry.legal_still_right":
            reason = " ; ".join(details.get("references") or [])
        elif event.action == "entry.correction":
            reason = f"{details.get('count', 0)} demandeur(s), révision {details.get('revision')}"
        items.append(HistoryItem(at=event.at, actor=event.actor,
                                 actor_name=actor_name(event.actor, names),
                                 label=EVENT_LABELS[event.action], reason=reason))
    # Events and revisions of the same instant keep revisions first.
    return sorted(items, key=lambda item: (item.at, item.revision is None))


def _french_date(value: object) -> str:
    text = str(value or "")
    parts = text.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else text


def revision(*, session: Session, entry_id: int, number: int) -> EntryRevision:
    """Return one revision of an entry or raise NotFound."""
    entries.get(session=session, entry_id=entry_id)
    found = session.scalar(select(EntryRevision).where(EntryRevision.entry_id == entry_id,
                                                       EntryRevision.revision == number))
    if found is None:
        raise NotFound("revision", f"{number} de la fiche {entry_id}")
    return found


def diff(*, session: Session, entry_id: int, older: int, newer: int) -> EntryDiff:
    """Compare two revisions of an entry, field by field, word by word."""
    before = revision(session=session, entry_id=entry_id, number=older)
    after = revision(session=session, entry_id=entry_id, number=newer)
    fields = tuple(FieldDiff(name=name, label=label,
                             pieces=word_diff(field_text(before, name), field_text(after, name)))
                   for name, label in FIELD_LABELS.items())
    return EntryDiff(entry_id=entry_id, older=before, newer=after, fields=fields)


def as_text(pieces: tuple[Piece, ...]) -> str:
    """A diff in plain text, removals as [-…-] and additions as {+…+} (like git's word diff)."""
    marks = {"equal": ("", ""), "delete": ("[-", "-]"), "insert": ("{+", "+}")}
    return "".join(f"{marks[p.op][0]}{p.text}{marks[p.op][1]}" for p in pieces)


def restore(*, session: Session, entry_id: int, number: int, actor: str,
            embedder: Embedder | None = None,
            confirm_personal_data: bool = False) -> KnowledgeEntry:
    """Make an old revision's content the current one, as a new revision."""
    entry = entries.get(session=session, entry_id=entry_id)
    old = revision(session=session, entry_id=entry_id, number=number)
    if number == entry.revision:
        raise Conflict(f"La révision {number} est déjà la version en vigueur.")
    # An old text may hold the very names a later revision replaced by placeholders.
    personal_data.check(session=session, texts=(old.question, old.answer),
                        confirmed=confirm_personal_data, actor=actor, object_type="entry",
                        object_id=entry_id, where=f"La révision {number}")
    content = EntryFields(
        question=old.question, answer=old.answer, theme=old.theme, tags=tuple(old.tags or ()),
        legal_references=tuple(old.legal_references or ()), source=old.source,
        review_by=entry.review_by, external_id=entry.external_id)
    before = entry.revision
    entries.update(session=session, entry_id=entry_id, content=content, actor=actor,
                   reason=f"restauration de la révision {number}", embedder=embedder,
                   restored_from=number)
    if entry.revision == before:
        raise Conflict(f"La révision {number} a le même contenu que la version en vigueur.")
    return entry
