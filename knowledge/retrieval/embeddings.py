"""Stored embeddings of knowledge entries and the index change log (retrieval engine).

The database is the source of truth of the vector index: each active entry's vector is stored
here, and every change that may affect the index appends a row to the change log under a
sequence number taken from a single counter row. The counter is bumped with
`UPDATE ... RETURNING` inside the writing transaction, so on PostgreSQL the row lock makes
concurrent writers commit in sequence order (on SQLite writes are serialised anyway): a
process that has applied every change up to N never misses one below N later.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from knowledge.retrieval import passages
from knowledge.retrieval.search import FrenchAnalyzer
from knowledge.store.db import Base, UtcDateTime
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.store.vocabulary import EntryPhrasing
from knowledge.timeutil import utcnow

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

UPSERT = "upsert"
REMOVE = "remove"
COUNTER_ID = 1
# Vector ids of the index: an entry's own passage has the entry id; a learnt phrasing has
# (phrasing id << 32) | entry id, so every hit names its entry without a lookup and the
# change log stays per entry (a process re-reads all vectors of a changed entry).
ENTRY_ID_BITS = 32
ENTRY_ID_MASK = (1 << ENTRY_ID_BITS) - 1
# An entry's own question also has a vector (embedded as a question, like the queries it is
# compared with): id (QUESTION_SLOT << 32) | entry id, a slot no phrasing id reaches. Measured
# in docs/evaluation.md: landlord staff's questions resemble the entry's question more than
# its long answer.
QUESTION_SLOT = 1 << 30


class EntryEmbedding(Base):
    """The stored vector of an entry, with the model and the hash of the text it embeds."""

    __tablename__ = "entry_embeddings"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(200), index=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The entry's question alone, embedded as a question (None until `embed_missing`).
    question_vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    text_hash: Mapped[str] = mapped_column(String(64))
    # Stemmed terms of the same text and their counts (`search.TermCounts`): the lexical
    # signal fused with the cosine at search time, stored so a search never re-reads answers.
    terms: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IndexChange(Base):
    """One change the vector index of every process must apply (ordered by `seq`)."""

    __tablename__ = "index_changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    op: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IndexCounter(Base):
    """The single row holding the last sequence number of the change log.

    `epoch` names this database's log: an index saved for another database (or before the
    log was reset) is recognised and rebuilt.
    """

    __tablename__ = "index_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    epoch: Mapped[str] = mapped_column(String(32))


@dataclass(frozen=True)
class LogHead:
    """Where the change log stands: its epoch and last sequence number."""

    epoch: str
    value: int


# --- texts ---------------------------------------------------------------------------------


def passage_text(question: str, answer: str) -> str:
    """Return the text embedded for an entry: its question, a blank line, its answer."""
    return f"{question.strip()}\n\n{answer.strip()}"


def text_hash(text: str) -> str:
    """Return the hash that tells whether a stored vector still embeds the current text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vector_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    """Serialise one vector for storage (little-endian float32)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes, dim: int) -> npt.NDArray[np.float32]:
    """Decode a stored vector; raise ValueError when its size does not match the dimension."""
    array = np.frombuffer(data, dtype="<f4")
    if array.shape != (dim,):
        raise ValueError(f"stored vector has {array.size} values, expected {dim}")
    return array.astype(np.float32)


def phrasing_vector_id(entry_id: int, phrasing_id: int) -> int:
    """Return the index id of a phrasing's vector (it carries the entry id in its low bits)."""
    return (phrasing_id << ENTRY_ID_BITS) | entry_id


def question_vector_id(entry_id: int) -> int:
    """Return the index id of the vector of an entry's question."""
    return (QUESTION_SLOT << ENTRY_ID_BITS) | entry_id


def entry_ids_of(vector_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the entry named by each index id (an entry's passage or one of its phrasings)."""
    return np.asarray(vector_ids, dtype=np.int64) & ENTRY_ID_MASK


# --- change log ----------------------------------------------------------------------------


def _bump_counter(session: Session, by: int) -> int:
    # The UPDATE takes the counter's row lock until commit: writers queue here, so their
    # commits (and thus their sequence numbers) become visible in order.
    bump = (update(IndexCounter).where(IndexCounter.id == COUNTER_ID)
            .values(value=IndexCounter.value + by).returning(IndexCounter.value))
    value = session.execute(bump).scalar()
    if value is None:
        # The migration makes the row; if the table was emptied, a new log (epoch) starts.
        # ON CONFLICT: a concurrent writer may be recreating it too.
        insert_row = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
                      else sqlite_insert)(IndexCounter)
        session.execute(insert_row.values(id=COUNTER_ID, value=0, epoch=uuid.uuid4().hex)
                        .on_conflict_do_nothing(index_elements=["id"]))
        value = session.execute(bump).scalar()
    if value is None:  # pragma: no cover - the row was just made
        raise RuntimeError("index counter row missing")
    return int(value)


def log_change(*, session: Session, entry_id: int, op: str) -> int:
    """Append a change of an entry to the index change log; return its sequence number."""
    seq = _bump_counter(session, 1)
    session.add(IndexChange(seq=seq, entry_id=entry_id, op=op, at=utcnow()))
    return seq


def log_changes(*, session: Session, entry_ids: Sequence[int], op: str) -> None:
    """Append one change per entry under consecutive sequence numbers."""
    if not entry_ids:
        return
    last = _bump_counter(session, len(entry_ids))
    first = last - len(entry_ids) + 1
    now = utcnow()
    session.execute(insert(IndexChange), [
        {"seq": first + offset, "entry_id": entry_id, "op": op, "at": now}
        for offset, entry_id in enumerate(entry_ids)
    ])


def log_head(*, session: Session | Connection) -> LogHead:
    """Return the epoch and last sequence number of the change log."""
    row = session.execute(
        select(IndexCounter.epoch, IndexCounter.value).where(IndexCounter.id == COUNTER_ID)
    ).first()
    if row is None:
        return LogHead(epoch="", value=0)
    return LogHead(epoch=row.epoch, value=int(row.value))


# --- embedding entries ---------------------------------------------------------------------


def _store(session: Session, entry_id: int, model_id: str, dim: int,
           vectors: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], digest: str,
           terms: str) -> None:
    passage, question = (vector_bytes(vector) for vector in vectors)
    row = session.get(EntryEmbedding, entry_id)
    if row is None:
        session.add(EntryEmbedding(entry_id=entry_id, model_id=model_id, dim=dim,
                                   vector=passage, question_vector=question, text_hash=digest,
                                   terms=terms, updated_at=utcnow()))
    else:
        row.model_id = model_id
        row.dim = dim
        row.vector = passage
        row.question_vector = question
        row.text_hash = digest
        row.terms = terms
        row.updated_at = utcnow()


def entry_changed(*, session: Session, entry: KnowledgeEntry, embedder: Embedder | None) -> None:
    """Record that an entry changed so stored vectors and every process's index follow."""
    if entry.status != EntryStatus.ACTIVE.value:
        # Like its vector, a retired entry's passages stay for a reinstatement; they are never
        # read meanwhile (only suggested entries, all active, are looked up).
        log_change(session=session, entry_id=entry.id, op=REMOVE)
        return
    text = passage_text(entry.question, entry.answer)
    digest = text_hash(text)
    if embedder is not None:
        row = session.get(EntryEmbedding, entry.id)
        if (row is None or row.model_id != embedder.model_id or row.text_hash != digest
                or row.terms is None or row.question_vector is None):
            vectors = (embedder.embed_passages([text])[0],
                       embedder.embed_queries([entry.question])[0])
            _store(session, entry.id, embedder.model_id, embedder.dim, vectors, digest,
                   FrenchAnalyzer().terms(text))
        if passages.stored_state(session=session, entry_id=entry.id) != (embedder.model_id,
                                                                        digest):
            _store_passages(session, embedder, [(entry.id, entry.question, entry.answer)])
    elif (state := passages.stored_state(session=session, entry_id=entry.id)) is not None \
            and state[1] != digest:
        # Offsets cut from the previous text would point at the wrong words: drop them.
        passages.remove(session=session, entry_id=entry.id)
    # Without an embedder the stored vector (if any) stays in service until `embed_missing`.
    session.flush()
    log_change(session=session, entry_id=entry.id, op=UPSERT)


def _store_passages(session: Session, embedder: Embedder,
                    entries: Sequence[tuple[int, str, str]]) -> None:
    # One embedder call for the passages of all these entries (batches run faster).
    cut = [(entry_id, question, answer, *passages.passage_texts(question, answer))
           for entry_id, question, answer in entries]
    vectors = embedder.embed_passages([text for *_, texts in cut for text in texts])
    offset = 0
    for entry_id, question, answer, spans, _texts in cut:
        chunk = vectors[offset:offset + len(spans)]
        offset += len(spans)
        passages.store(session=session, entry_id=entry_id, spans=spans,
                       vectors=[vector_bytes(vector) for vector in chunk],
                       model_id=embedder.model_id, dim=embedder.dim,
                       digest=text_hash(passage_text(question, answer)))


def stale_passage_entry_ids(*, session: Session, model_id: str, chunk: int = 1000) -> list[int]:
    """Return the active entries whose passages are missing, stale or of another model."""
    marker = passages.EntryPassage
    query = (
        select(KnowledgeEntry.id, KnowledgeEntry.question, KnowledgeEntry.answer,
               marker.model_id, marker.text_hash)
        .outerjoin(marker, (marker.entry_id == KnowledgeEntry.id)
                   & (marker.position == passages.QUESTION_POSITION))
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
        .order_by(KnowledgeEntry.id)
        .execution_options(yield_per=chunk)
    )
    return [int(row.id) for row in session.execute(query)
            if row.model_id != model_id
            or row.text_hash != text_hash(passage_text(row.question, row.answer))]


def _active_texts(session: Session, ids: list[int]) -> list[Any]:
    """Id, question and answer of the active entries among these ids, by id."""
    return list(session.execute(
        select(KnowledgeEntry.id, KnowledgeEntry.question, KnowledgeEntry.answer)
        .where(KnowledgeEntry.id.in_(ids), KnowledgeEntry.status == EntryStatus.ACTIVE.value)
        .order_by(KnowledgeEntry.id)
    ).all())


def embed_entry_passages(*, session: Session, embedder: Embedder,
                         entry_ids: Iterable[int]) -> int:
    """Cut and embed the passages of these entries (active ones only); return how many entries."""
    ids = list(entry_ids)
    if not ids:
        return 0
    rows = _active_texts(session, ids)
    _store_passages(session, embedder, [(int(row.id), row.question, row.answer) for row in rows])
    session.flush()
    return len(rows)


def embed_missing_passages(*, session: Session, embedder: Embedder, batch_size: int = 16,
                           progress: Callable[[int, int], None] | None = None) -> int:
    """Embed the passages of every active entry whose passages are missing or stale."""
    pending = stale_passage_entry_ids(session=session, model_id=embedder.model_id)
    done = 0
    for start in range(0, len(pending), max(1, batch_size)):
        done += embed_entry_passages(session=session, embedder=embedder,
                                     entry_ids=pending[start:start + batch_size])
        if progress is not None:
            progress(min(start + batch_size, len(pending)), len(pending))
    if pending:
        logger.info("cut and embedded the passages of %s entries with %s", done,
                    embedder.model_id)
    return done


def stale_entry_ids(*, session: Session, model_id: str, chunk: int = 1000) -> list[int]:
    """Return the active entries whose stored vector is missing, stale or of another model."""
    stale: list[int] = []
    query = (
        select(KnowledgeEntry.id, KnowledgeEntry.question, KnowledgeEntry.answer,
               EntryEmbedding.model_id, EntryEmbedding.text_hash,
               EntryEmbedding.terms.is_(None).label("no_terms"),
               EntryEmbedding.question_vector.is_(None).label("no_question"))
        .outerjoin(EntryEmbedding, EntryEmbedding.entry_id == KnowledgeEntry.id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value)
        .order_by(KnowledgeEntry.id)
        .execution_options(yield_per=chunk)
    )
    for row in session.execute(query):
        if (row.model_id != model_id or row.no_terms or row.no_question
                or row.text_hash != text_hash(passage_text(row.question, row.answer))):
            stale.append(int(row.id))
    return stale


def embed_entries(*, session: Session, embedder: Embedder, entry_ids: Iterable[int]) -> int:
    """Embed these entries (active ones only), store their vectors and log upserts."""
    ids = list(entry_ids)
    if not ids:
        return 0
    rows = _active_texts(session, ids)
    if not rows:
        return 0
    texts = [passage_text(row.question, row.answer) for row in rows]
    vectors = embedder.embed_passages(texts)
    questions = embedder.embed_queries([row.question for row in rows])
    analyzer = FrenchAnalyzer()
    for row, text, vector, question in zip(rows, texts, vectors, questions, strict=True):
        _store(session, int(row.id), embedder.model_id, embedder.dim, (vector, question),
               text_hash(text), analyzer.terms(text))
    # In the same unit of work: an interrupted re-embedding never leaves a fresh entry vector
    # beside stale passages.
    _store_passages(session, embedder, [(int(row.id), row.question, row.answer) for row in rows])
    session.flush()
    log_changes(session=session, entry_ids=[int(row.id) for row in rows], op=UPSERT)
    return len(rows)


def embed_missing(*, session: Session, embedder: Embedder, batch_size: int = 64,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Embed every active entry whose stored vector is missing, stale or of another model."""
    pending = stale_entry_ids(session=session, model_id=embedder.model_id)
    done = 0
    if progress is not None:
        progress(0, len(pending))
    for start in range(0, len(pending), max(1, batch_size)):
        done += embed_entries(session=session, embedder=embedder,
                              entry_ids=pending[start:start + batch_size])
        if progress is not None:
            progress(min(start + batch_size, len(pending)), len(pending))
    if pending:
        logger.info("embedded %s entries with %s", done, embedder.model_id)
    # Entries whose vector is current but whose passages are not (a database upgraded to
    # passages, an interrupted run): cut and embed those too.
    embed_missing_passages(session=session, embedder=embedder)
    return done + embed_phrasings(session=session, embedder=embedder)


def stale_phrasing_ids(*, session: Session, model_id: str) -> list[int]:
    """Return the phrasings of active entries without a vector of this model."""
    return list(session.scalars(
        select(EntryPhrasing.id)
        .join(KnowledgeEntry, KnowledgeEntry.id == EntryPhrasing.entry_id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               (EntryPhrasing.model_id.is_(None)) | (EntryPhrasing.model_id != model_id))
        .order_by(EntryPhrasing.id)))


# How a phrasing is embedded: as a question ("query", symmetric with the questions it is
# compared with) or as a passage. Measured in docs/retrieval.md.
PHRASING_EMBEDDING = "query"


def _embed_phrasing_texts(embedder: Embedder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    if PHRASING_EMBEDDING == "query":
        return embedder.embed_queries(texts)
    return embedder.embed_passages(texts)


def embed_phrasing(*, phrasing: EntryPhrasing, embedder: Embedder) -> None:
    """Compute and set the vector of a phrasing (see PHRASING_EMBEDDING)."""
    vector = _embed_phrasing_texts(embedder, [phrasing.text])[0]
    phrasing.model_id = embedder.model_id
    phrasing.dim = embedder.dim
    phrasing.vector = vector_bytes(vector)


def embed_phrasings(*, session: Session, embedder: Embedder, batch_size: int = 64) -> int:
    """Embed the phrasings without a vector of this model and log their entries' changes."""
    pending = stale_phrasing_ids(session=session, model_id=embedder.model_id)
    for start in range(0, len(pending), batch_size):
        rows = list(session.scalars(select(EntryPhrasing).where(
            EntryPhrasing.id.in_(pending[start:start + batch_size]))))
        vectors = _embed_phrasing_texts(embedder, [row.text for row in rows])
        for row, vector in zip(rows, vectors, strict=True):
            row.model_id, row.dim = embedder.model_id, embedder.dim
            row.vector = vector_bytes(vector)
        session.flush()
        log_changes(session=session, entry_ids=sorted({row.entry_id for row in rows}), op=UPSERT)
    return len(pending)


def _stored_query(model_id: str, dim: int, entry_ids: Sequence[int] | None) -> Any:
    query = (
        select(EntryEmbedding.entry_id, EntryEmbedding.vector)
        .join(KnowledgeEntry, KnowledgeEntry.id == EntryEmbedding.entry_id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               EntryEmbedding.model_id == model_id, EntryEmbedding.dim == dim)
        .order_by(EntryEmbedding.entry_id)
    )
    if entry_ids is not None:
        query = query.where(EntryEmbedding.entry_id.in_(list(entry_ids)))
    return query


def _question_vectors_query(model_id: str, dim: int, entry_ids: Sequence[int] | None) -> Any:
    return (_stored_query(model_id, dim, entry_ids)
            .with_only_columns(EntryEmbedding.entry_id, EntryEmbedding.question_vector)
            .where(EntryEmbedding.question_vector.is_not(None)))


def _phrasing_vectors_query(model_id: str, dim: int, entry_ids: Sequence[int] | None) -> Any:
    query = (
        select(EntryPhrasing.id, EntryPhrasing.entry_id, EntryPhrasing.vector)
        .join(KnowledgeEntry, KnowledgeEntry.id == EntryPhrasing.entry_id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               EntryPhrasing.model_id == model_id, EntryPhrasing.dim == dim)
        .order_by(EntryPhrasing.id)
    )
    if entry_ids is not None:
        query = query.where(EntryPhrasing.entry_id.in_(list(entry_ids)))
    return query


def iter_stored_vectors(*, session: Session, model_id: str, dim: int,
                        entry_ids: Sequence[int] | None = None, chunk: int = 10_000,
                        ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
    """Yield index ids and vectors of active entries and their phrasings, a chunk at a time."""
    result = session.execute(_stored_query(model_id, dim, entry_ids)
                             .execution_options(yield_per=chunk))
    for rows in result.partitions():
        yield _decoded([int(row[0]) for row in rows], [row[1] for row in rows], dim)
    questions = session.execute(_question_vectors_query(model_id, dim, entry_ids)
                                .execution_options(yield_per=chunk))
    for rows in questions.partitions():
        yield _decoded([question_vector_id(int(row[0])) for row in rows],
                       [row[1] for row in rows], dim)
    phrasings = session.execute(_phrasing_vectors_query(model_id, dim, entry_ids)
                                .execution_options(yield_per=chunk))
    for rows in phrasings.partitions():
        yield _decoded([phrasing_vector_id(int(row[1]), int(row[0])) for row in rows],
                       [row[2] for row in rows], dim)


def _decoded(ids: list[int], blobs: list[bytes], dim: int,
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    vectors = np.empty((len(blobs), dim), dtype=np.float32)
    for position, blob in enumerate(blobs):
        vectors[position] = vector_from_bytes(blob, dim)
    return np.asarray(ids, dtype=np.int64), vectors


def stored_vectors(*, session: Session, model_id: str, dim: int,
                   entry_ids: Sequence[int] | None = None,
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Return ids and vectors of active entries stored for a model (all, or these ids)."""
    chunks = list(iter_stored_vectors(session=session, model_id=model_id, dim=dim,
                                      entry_ids=entry_ids))
    if not chunks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return (np.concatenate([ids for ids, _ in chunks]),
            np.concatenate([vectors for _, vectors in chunks]))


def stored_ids(*, session: Session, model_id: str, dim: int) -> npt.NDArray[np.int64]:
    """Return the index ids of active entries' stored vectors of this model, and phrasings'."""
    rows = session.execute(
        select(EntryEmbedding.entry_id, EntryEmbedding.question_vector.is_not(None))
        .join(KnowledgeEntry, KnowledgeEntry.id == EntryEmbedding.entry_id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               EntryEmbedding.model_id == model_id, EntryEmbedding.dim == dim)
    ).all()
    ids = [int(entry_id) for entry_id, _ in rows]
    ids += [question_vector_id(int(entry_id)) for entry_id, has_question in rows if has_question]
    phrasings = session.execute(
        select(EntryPhrasing.id, EntryPhrasing.entry_id)
        .join(KnowledgeEntry, KnowledgeEntry.id == EntryPhrasing.entry_id)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value,
               EntryPhrasing.model_id == model_id, EntryPhrasing.dim == dim)
    ).all()
    every = list(ids) + [phrasing_vector_id(int(row.entry_id), int(row.id)) for row in phrasings]
    return np.sort(np.asarray(every, dtype=np.int64))


def stored_terms(*, session: Session | Connection, entry_ids: Sequence[int]) -> dict[int, str]:
    """Return the stored lexical terms of these entries (entries without any are left out)."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(EntryEmbedding.entry_id, EntryEmbedding.terms)
        .where(EntryEmbedding.entry_id.in_(list(entry_ids)))
    ).all()
    return {int(row.entry_id): row.terms for row in rows if row.terms is not None}


def changed_entry_ids(*, session: Session, after: int) -> tuple[list[int], int]:
    """Return the entries changed after a sequence number and the last sequence number seen."""
    rows = session.execute(
        select(IndexChange.entry_id, IndexChange.seq).where(IndexChange.seq > after)
        .order_by(IndexChange.seq)
    ).all()
    if not rows:
        return [], after
    return sorted({int(row.entry_id) for row in rows}), int(rows[-1].seq)


__all__ = [
    "REMOVE",
    "UPSERT",
    "EntryEmbedding",
    "IndexChange",
    "IndexCounter",
    "LogHead",
    "changed_entry_ids",
    "embed_entries",
    "embed_entry_passages",
    "embed_missing",
    "embed_missing_passages",
    "embed_phrasing",
    "embed_phrasings",
    "entry_changed",
    "entry_ids_of",
    "iter_stored_vectors",
    "log_change",
    "log_head",
    "passage_text",
    "phrasing_vector_id",
    "stale_entry_ids",
    "stale_passage_entry_ids",
    "stored_ids",
    "stored_terms",
    "stored_vectors",
    "text_hash",
    "vector_from_bytes",
]
