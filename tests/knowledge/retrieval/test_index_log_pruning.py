"""Pruning the index change log: only what every live reader applied; late readers rebuild."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.retrieval import embeddings, log_readers
from knowledge.retrieval.embeddings import IndexChange
from knowledge.runtime import Knowledge
from knowledge.store.models import IndexReader
from knowledge.timeutil import utcnow


def _create(session: Session, embedder: Any, question: str, answer: str) -> int:
    return entries.create(session=session, content=EntryFields(question=question, answer=answer),
                          actor="test", embedder=embedder).id


def _seqs(session: Session) -> list[int]:
    return list(session.scalars(select(IndexChange.seq).order_by(IndexChange.seq)))


def test_nothing_is_pruned_while_no_reader_said_how_far_it_read(session: Session,
                                                                 e5_embedder: Any) -> None:
    for number in range(3):
        _create(session, e5_embedder, f"Question {number} ?", f"Réponse {number}.")
    assert log_readers.prune(session=session) == 0
    assert _seqs(session) == [1, 2, 3]


def test_changes_below_the_slowest_live_reader_are_pruned_and_its_own_is_kept(
        session: Session, e5_embedder: Any) -> None:
    for number in range(6):
        _create(session, e5_embedder, f"Question {number} ?", f"Réponse {number}.")
    log_readers.note(session=session, name="web:1", watermark=6)
    log_readers.note(session=session, name="bot:2", watermark=4)
    log_readers.note(session=session, name="gone:3", watermark=1,
                     now=utcnow() - timedelta(days=8))
    assert log_readers.prune(session=session) == 3
    assert _seqs(session) == [4, 5, 6]
    assert {reader.name for reader in session.scalars(select(IndexReader))} == {"web:1", "bot:2"}
    assert not log_readers.has_gap(session=session, watermark=4)
    assert not log_readers.has_gap(session=session, watermark=3)  # needs 4 on: still there
    assert log_readers.has_gap(session=session, watermark=1)  # 2 and 3 are gone


def test_an_index_saved_before_pruned_changes_is_rebuilt_not_left_stale(
        engine: Engine, e5_embedder: Any, tmp_path: Path) -> None:
    def open_knowledge(directory: str) -> Knowledge:
        return Knowledge(engine=engine, embedder_factory=lambda: e5_embedder,
                         index_dir=tmp_path / directory)

    with Knowledge(engine=engine, embedder_factory=lambda: e5_embedder,
                   index_dir=tmp_path / "old").sessions() as session:
        first = _create(session, e5_embedder, "Qui paie la TEOM ?", "Le locataire.")
        session.commit()
    old = open_knowledge("old")
    old.sync_index()
    old.close()  # saved at watermark 1; this process then stops for a long time
    while old._note_thread is not None:  # its last note (watermark 1) is being written
        time.sleep(0.01)
    with old.sessions() as session:
        [reader] = session.scalars(select(IndexReader))
        assert reader.watermark == 1
        reader.seen_at = utcnow() - timedelta(days=8)
        entries.update(session=session, entry_id=first, actor="test", embedder=e5_embedder,
                       content=EntryFields(question="Qui paie l'eau froide ?",
                                           answer="Le locataire, selon son compteur."))
        _create(session, e5_embedder, "Un locataire peut-il sous-louer ?", "Non.")
        log_readers.note(session=session, name="live:1", watermark=3)
        assert log_readers.prune(session=session) == 2  # 1 and 2 go: the update is forgotten
        session.commit()
    back = open_knowledge("old")
    try:
        hit = back.similar("Qui paie l'eau froide ?", k=1, min_score=-1.0).hits[0]
        assert hit.entry_id == first
        with back.sessions() as session:
            ids, stored = embeddings.stored_vectors(session=session,
                                                    model_id=e5_embedder.model_id,
                                                    dim=e5_embedder.dim, entry_ids=[first])
        np.testing.assert_allclose(back._index().vectors(ids.tolist()), stored, atol=1e-6)
    finally:
        back.close()
