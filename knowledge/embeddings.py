"""Stored embeddings of knowledge entries and the index change log (retrieval engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from knowledge.models import KnowledgeEntry

if TYPE_CHECKING:
    from index.embedders import Embedder


def entry_changed(*, session: Session, entry: KnowledgeEntry, embedder: Embedder | None) -> None:
    """Record that an entry changed so stored vectors and every process's index follow."""
    # Filled by the retrieval-engine issue: store the embedding, append to the change log.
    return None
