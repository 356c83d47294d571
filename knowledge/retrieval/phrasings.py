"""Phrasings learnt from validated answers: other ways of asking what an entry answers.

When an adviser answers a question from an entry, the asker's words become a phrasing of that
entry: stored, embedded and indexed next to the entry's own passage, so the next question
worded like it finds the entry (an entry scores its best vector). Removing a phrasing removes
its vector from every process's index through the change log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import InvalidInput, NotFound
from knowledge.retrieval.embeddings import UPSERT, embed_phrasing, log_change
from knowledge.store.models import KnowledgeEntry
from knowledge.store.vocabulary import EntryPhrasing
from knowledge.text import clean, fold
from knowledge.timeutil import utcnow

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

FROM_TICKET = "ticket"
BY_HAND = "manual"
MAX_LENGTH = 2000
# Shorter texts carry too little to tell entries apart ("merci", "ok ?").
MIN_WORDS = 3


def list_phrasings(*, session: Session, entry_id: int) -> list[EntryPhrasing]:
    """Return the phrasings of an entry, oldest first."""
    return list(session.scalars(select(EntryPhrasing).where(EntryPhrasing.entry_id == entry_id)
                                .order_by(EntryPhrasing.id)))


def add_phrasing(*, session: Session, entry_id: int, text: str, actor: str,
                 embedder: Embedder | None, source: str = BY_HAND,
                 ticket_id: int | None = None) -> EntryPhrasing | None:
    """Add a phrasing to an entry; None when the entry already has it or it is its question."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("entry", entry_id)
    phrasing_text = " ".join(clean(text).split())
    if len(fold(phrasing_text).split()) < MIN_WORDS:
        raise InvalidInput(f"Une formulation doit compter au moins {MIN_WORDS} mots.")
    if len(phrasing_text) > MAX_LENGTH:
        raise InvalidInput(f"Une formulation ne doit pas dépasser {MAX_LENGTH} caractères.")
    key = fold(phrasing_text)
    if key == fold(entry.question) or any(
            fold(other.text) == key for other in list_phrasings(session=session,
                                                                entry_id=entry_id)):
        return None
    phrasing = EntryPhrasing(entry_id=entry_id, text=phrasing_text, source=source,
                             ticket_id=ticket_id, created_by=actor, created_at=utcnow())
    if embedder is not None:
        embed_phrasing(phrasing=phrasing, embedder=embedder)
    # Without an embedder the phrasing waits for `svp index reembed` (embed_phrasings).
    session.add(phrasing)
    session.flush()
    log_change(session=session, entry_id=entry_id, op=UPSERT)
    audit.record(session=session, actor=actor, action="phrasing.add", object_type="entry",
                 object_id=entry_id, details={"phrasing_id": phrasing.id, "source": source,
                                              "ticket_id": ticket_id})
    return phrasing


def learn_from_ticket(*, session: Session, entry_id: int, question: str, ticket_id: int,
                      actor: str, embedder: Embedder | None) -> EntryPhrasing | None:
    """Keep the asker's question as a phrasing of the entry that answered it (best effort)."""
    try:
        return add_phrasing(session=session, entry_id=entry_id, text=question, actor=actor,
                            embedder=embedder, source=FROM_TICKET, ticket_id=ticket_id)
    except (InvalidInput, NotFound):
        # Too short or too long to be a useful phrasing, or no such entry: the answer goes
        # out all the same.
        logger.info("question of ticket %s not kept as a phrasing of entry %s", ticket_id,
                    entry_id)
        return None


def remove_phrasing(*, session: Session, phrasing_id: int, actor: str,
                    entry_id: int | None = None) -> None:
    """Delete a phrasing; its vector leaves every index at the next search."""
    phrasing = session.get(EntryPhrasing, phrasing_id)
    if phrasing is None or (entry_id is not None and phrasing.entry_id != entry_id):
        raise NotFound("phrasing", phrasing_id)
    owner = phrasing.entry_id
    audit.record(session=session, actor=actor, action="phrasing.remove", object_type="entry",
                 object_id=owner, details={"phrasing_id": phrasing_id, "text": phrasing.text})
    session.delete(phrasing)
    session.flush()
    log_change(session=session, entry_id=owner, op=UPSERT)
