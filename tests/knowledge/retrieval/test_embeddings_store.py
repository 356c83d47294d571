"""Stored embeddings and the index change log, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from fakes import HOUSING_ENTRIES, FakeEmbedder
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.retrieval import embeddings
from knowledge.retrieval.embeddings import EntryEmbedding, IndexChange
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory, unit_of_work


def create(session: Session, index: int, embedder: Any | None, **extra: Any) -> int:
    question, answer = HOUSING_ENTRIES[index]
    entry = entries.create(session=session, content=EntryFields(question=question, answer=answer,
                                                                **extra),
                           actor="test", embedder=embedder)
    return entry.id


def log(session: Session) -> list[tuple[int, int, str]]:
    return [(c.seq, c.entry_id, c.op)
            for c in session.scalars(select(IndexChange).order_by(IndexChange.seq))]


def test_creating_an_entry_stores_its_real_embedding(session: Session, e5_embedder: Any) -> None:
    entry_id = create(session, 0, e5_embedder)
    session.commit()
    stored = session.get(EntryEmbedding, entry_id)
    assert stored is not None
    assert (stored.model_id, stored.dim) == ("e5-small-int4", 384)
    question, answer = HOUSING_ENTRIES[0]
    text = embeddings.passage_text(question, answer)
    assert stored.text_hash == embeddings.text_hash(text)
    vector = embeddings.vector_from_bytes(stored.vector, 384)
    np.testing.assert_allclose(vector, e5_embedder.embed_passages([text])[0], atol=1e-6)
    assert log(session) == [(1, entry_id, "upsert")]


def test_editing_the_text_re_embeds_but_editing_the_theme_does_not(session: Session) -> None:
    embedder = FakeEmbedder()
    entry_id = create(session, 1, embedder)
    question, answer = HOUSING_ENTRIES[1]
    entries.update(session=session, entry_id=entry_id, actor="test", embedder=embedder,
                   content=EntryFields(question=question, answer=answer, theme="Bail"))
    # Its text, its question, then its passages (the question and the one-paragraph answer).
    assert embedder.calls == [("passage", 1), ("query", 1), ("passage", 2)]
    entries.update(session=session, entry_id=entry_id, actor="test", embedder=embedder,
                   content=EntryFields(question=question, answer=answer + " Voir le bail.",
                                       theme="Bail"))
    assert embedder.calls == [("passage", 1), ("query", 1), ("passage", 2)] * 2
    stored = session.get(EntryEmbedding, entry_id)
    assert stored is not None
    assert stored.text_hash == embeddings.text_hash(
        embeddings.passage_text(question, answer + " Voir le bail."))
    assert [op for _, _, op in log(session)] == ["upsert", "upsert", "upsert"]


def test_retiring_logs_a_removal_and_keeps_the_vector_for_reinstatement(
        session: Session) -> None:
    embedder = FakeEmbedder()
    entry_id = create(session, 2, embedder)
    entries.retire(session=session, entry_id=entry_id, actor="test")
    entries.reinstate(session=session, entry_id=entry_id, actor="test")
    assert session.get(EntryEmbedding, entry_id) is not None
    assert [(entry, op) for _, entry, op in log(session)] == [
        (entry_id, "upsert"), (entry_id, "remove"), (entry_id, "upsert")]


def test_embed_missing_fills_missing_stale_and_other_model_vectors(session: Session) -> None:
    old_model = FakeEmbedder(model_id="old-model")
    with_old_model = create(session, 0, old_model)
    without_vector = create(session, 1, None)
    stale = create(session, 2, FakeEmbedder())
    question, answer = HOUSING_ENTRIES[2]
    entries.update(session=session, entry_id=stale, actor="test", embedder=None,
                   content=EntryFields(question=question, answer=answer + " Modifié."))
    up_to_date = create(session, 3, FakeEmbedder())
    retired = create(session, 4, None)
    entries.retire(session=session, entry_id=retired, actor="test")
    embedder = FakeEmbedder()
    seen: list[tuple[int, int]] = []
    done = embeddings.embed_missing(session=session, embedder=embedder, batch_size=2,
                                    progress=lambda d, t: seen.append((d, t)))
    assert done == 3
    assert seen == [(0, 3), (2, 3), (3, 3)]
    models = {row.entry_id: row.model_id for row in session.scalars(select(EntryEmbedding))}
    assert models == {with_old_model: "fake-bow-64", without_vector: "fake-bow-64",
                      stale: "fake-bow-64", up_to_date: "fake-bow-64"}
    assert embeddings.stale_entry_ids(session=session, model_id="fake-bow-64") == []
    assert embeddings.embed_missing(session=session, embedder=embedder) == 0


def test_change_log_sequence_is_gapless_under_concurrent_writers(engine: Engine) -> None:
    factory = make_session_factory(engine)
    embedder = FakeEmbedder()
    failures: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for round_ in range(5):
                with unit_of_work(factory) as session:
                    entries.create(session=session, actor="test", embedder=embedder,
                                   content=EntryFields(question=f"Question {offset}-{round_} ?",
                                                       answer="Réponse."))
        except BaseException as error:  # collected for the assertion below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    with unit_of_work(factory) as session:
        sequence = [seq for seq, _, _ in log(session)]
        head = embeddings.log_head(session=session)
    assert sequence == list(range(1, 21))
    assert head.value == 20


def test_embeddings_migration_upgrades_and_downgrades(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"entry_embeddings", "index_changes", "index_counter"} <= tables
        with make_session_factory(engine)() as session:
            head = embeddings.log_head(session=session)
        assert head.value == 0 and len(head.epoch) == 32
        migrate.downgrade(engine, "0001")
        assert "entry_embeddings" not in set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [0, 3])
def test_stored_vectors_round_trip(session: Session, size: int) -> None:
    embedder = FakeEmbedder()
    created = [create(session, index, embedder) for index in range(size)]
    ids, vectors = embeddings.stored_vectors(session=session, model_id="fake-bow-64", dim=64)
    # Each entry has its passage's vector and its question's.
    assert ids.tolist() == created + [embeddings.question_vector_id(i) for i in created]
    assert vectors.shape == (2 * size, 64)


class FailingEmbedder(FakeEmbedder):
    """Answers a few calls, then fails (an interrupted re-embedding)."""

    def __init__(self, budget: int) -> None:
        super().__init__(model_id="new-model")
        self.budget = budget

    def embed_passages(self, texts: Any) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise KeyboardInterrupt
        return super().embed_passages(texts)


def test_reembedding_in_committed_batches_resumes_after_an_interruption(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        for index in range(6):
            create(session, index, FakeEmbedder())
    embedder = FailingEmbedder(budget=4)
    with unit_of_work(factory) as session:
        pending = embeddings.stale_entry_ids(session=session, model_id="new-model")
    assert len(pending) == 6
    with pytest.raises(KeyboardInterrupt):
        for start in range(0, len(pending), 2):
            with unit_of_work(factory) as session:
                embeddings.embed_entries(session=session, embedder=embedder,
                                         entry_ids=pending[start:start + 2])
    with unit_of_work(factory) as session:
        assert embeddings.stale_entry_ids(session=session, model_id="new-model") == pending[4:]
        # Vectors and passages are written together: no entry is left with one and not the
        # other, and the next run completes both.
        assert embeddings.stale_passage_entry_ids(session=session,
                                                  model_id="new-model") == pending[4:]
        assert embeddings.embed_missing(session=session, embedder=FakeEmbedder(
            model_id="new-model")) == 2
        assert embeddings.stale_passage_entry_ids(session=session, model_id="new-model") == []


def test_each_entry_has_a_question_vector_embedded_as_a_question(session: Session) -> None:
    embedder = FakeEmbedder()
    entry_id = create(session, 0, embedder)
    question, _ = HOUSING_ENTRIES[0]
    row = session.get(EntryEmbedding, entry_id)
    assert row is not None and row.question_vector is not None
    np.testing.assert_allclose(embeddings.vector_from_bytes(row.question_vector, 64),
                               embedder.embed_queries([question])[0], atol=1e-6)
    vector_id = embeddings.question_vector_id(entry_id)
    assert vector_id > embeddings.ENTRY_ID_MASK  # not a passage: duplicate checks skip it
    assert int(embeddings.entry_ids_of(np.asarray([vector_id]))[0]) == entry_id
    assert embeddings.stored_ids(session=session, model_id="fake-bow-64", dim=64).tolist() == [
        entry_id, vector_id]


def test_entries_stored_before_question_vectors_are_completed_by_embed_missing(
        session: Session) -> None:
    embedder = FakeEmbedder()
    first, second = create(session, 0, embedder), create(session, 1, embedder)
    # As after the upgrade to migration 0013: passages stored, questions not yet.
    for row in session.scalars(select(EntryEmbedding)):
        row.question_vector = None
    session.flush()
    assert embeddings.stale_entry_ids(session=session, model_id="fake-bow-64") == [first, second]
    ids, _ = embeddings.stored_vectors(session=session, model_id="fake-bow-64", dim=64)
    assert ids.tolist() == [first, second]  # still found through their passages meanwhile
    assert embeddings.embed_missing(session=session, embedder=embedder) == 2
    assert embeddings.stale_entry_ids(session=session, model_id="fake-bow-64") == []
    ids, _ = embeddings.stored_vectors(session=session, model_id="fake-bow-64", dim=64)
    assert ids.tolist() == [first, second, embeddings.question_vector_id(first),
                            embeddings.question_vector_id(second)]
