"""Removal of a person's identifiers (name, username, e-mail, Telegram ids) from free texts.

Deliberately literal: the exact strings the database holds about the person, matched as whole
words whatever the case. A nickname, a misspelling or a description ("la responsable
d'agence de Gap") is not caught; docs/rgpd.md says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from knowledge.retrieval import embeddings
from knowledge.store.models import Asker, EntryRevision, KnowledgeEntry, User
from knowledge.store.vocabulary import EntryPhrasing

if TYPE_CHECKING:
    from index.embedders import Embedder

ERASED = "[effacé]"
# Shorter name parts ("Di", "Le") are also ordinary words: replacing them would maul texts.
MIN_PART_CHARS = 3


def identifiers_of(person: Asker | User) -> list[str]:
    """The strings that identify a person: full name and its parts, username, e-mail, ids."""
    values: list[str] = []
    if isinstance(person, Asker):
        names = [person.full_name]
        values += [person.email or "", person.telegram_username or ""]
        values += [str(number) for number in (person.telegram_user_id, person.chat_id)
                   if number is not None]
    else:
        names = [person.display_name]
        values += [person.login]
        if person.telegram_chat_id is not None:
            values.append(str(person.telegram_chat_id))
    for name in names:
        if name:
            values.append(name)
            values += [part for part in re.split(r"[\s'’-]+", name)
                       if len(part) >= MIN_PART_CHARS]
    return [value for value in dict.fromkeys(values) if value]


class Scrubber:
    """Replaces a person's identifiers by `[effacé]` in texts and JSON values."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        words = sorted({value for value in identifiers if value}, key=len, reverse=True)
        # Longest first, so "Marie Durand" goes as one piece before "Marie" is tried.
        self.pattern = re.compile(
            "|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in words),
            re.IGNORECASE) if words else None

    def text(self, value: str) -> str:
        """The text with every identifier replaced."""
        if self.pattern is None or not value:
            return value
        return self.pattern.sub(ERASED, value)

    def optional(self, value: str | None) -> str | None:
        """Like `text`, for a nullable column."""
        return None if value is None else self.text(value)

    def value(self, value: Any) -> Any:
        """A JSON value with identifiers replaced in every string (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        if isinstance(value, int) and not isinstance(value, bool) and self.found(str(value)):
            return ERASED
        return value

    def found(self, value: str) -> bool:
        """Whether a text holds one of the identifiers."""
        return self.pattern is not None and self.pattern.search(value) is not None


def scrub_phrasing(*, session: Session, phrasing: EntryPhrasing, scrubber: Scrubber,
                   embedder: Embedder | None) -> bool:
    """Scrub a learnt phrasing; its vector follows (now, or at the next `svp index reembed`)."""
    text = scrubber.text(phrasing.text)
    if text == phrasing.text:
        return False
    phrasing.text = text
    if embedder is not None:
        embeddings.embed_phrasing(phrasing=phrasing, embedder=embedder)
    else:  # the old vector came from the name: drop it, the phrasing waits to be embedded
        phrasing.model_id, phrasing.dim, phrasing.vector = None, None, None
    session.flush()
    embeddings.log_change(session=session, entry_id=phrasing.entry_id, op=embeddings.UPSERT)
    return True


def scrub_entry(*, session: Session, entry: KnowledgeEntry, scrubber: Scrubber,
                embedder: Embedder | None) -> bool:
    """Scrub an entry and its revisions; its stored vector and search terms follow."""
    for revision in session.scalars(select(EntryRevision)
                                    .where(EntryRevision.entry_id == entry.id)):
        revision.question = scrubber.text(revision.question)
        revision.answer = scrubber.text(revision.answer)
    question, answer = scrubber.text(entry.question), scrubber.text(entry.answer)
    if (question, answer) == (entry.question, entry.answer):
        return False
    entry.question, entry.answer = question, answer
    if embedder is None:  # vector and terms came from the name: gone until re-embedded
        session.execute(delete(embeddings.EntryEmbedding)
                        .where(embeddings.EntryEmbedding.entry_id == entry.id))
    session.flush()
    embeddings.entry_changed(session=session, entry=entry, embedder=embedder)
    return True
