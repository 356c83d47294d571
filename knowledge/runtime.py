"""The knowledge base as one object: database, embedder and vector index of a process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from index.embedders import Embedder
from index.store import IndexMissing, IndexUnusable, VectorStore
from knowledge.retrieval import embeddings, glossary, log_readers, passages, search
from knowledge.retrieval.expansion import Expansion, GlossaryMatcher
from knowledge.retrieval.search import SearchHit, SearchResult
from knowledge.store.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    is_sqlite,
    make_engine,
    make_session_factory,
    unit_of_work,
)
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.text import clean
from knowledge.watch.references import TextNames, load_text_names

logger = logging.getLogger(__name__)

__all__ = ["Knowledge", "SearchHit", "SearchResult"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
IN_CLAUSE_CHUNK = 500


class Knowledge:
    """Owns a process's engine, session factory, embedder and vector index.

    The vector index is a cache of the vectors stored in the database: it is loaded (or
    rebuilt) on first use, then brought up to date with the database's change log before
    each search, so changes committed by any process show in the next search.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        embedder_factory: Callable[[], Embedder],
        index_dir: Path,
        abstain_threshold: float | None = None,
        save_index: bool = True,
        ranking: search.Ranking | None = None,
        legal_texts_file: Path | None = None,
    ) -> None:
        self.engine = engine
        # The administrator's usual names of laws (SVP_VEILLE_TEXTS_FILE), beside the bundled.
        self.legal_texts_file = legal_texts_file
        self._legal_names: TextNames | None = None
        # How entries are ranked (settings SVP_SEARCH_*); the benchmarks swap it between runs.
        self.ranking = ranking if ranking is not None else search.Ranking()
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self.index_dir = index_dir
        self.abstain_threshold_setting = abstain_threshold
        self.save_index = save_index
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()
        self._read_engine = _read_engine_of(engine)
        self._reads: sessionmaker[Session] = sessionmaker(bind=self._read_engine,
                                                          expire_on_commit=False)
        self._store: VectorStore | None = None
        self._saved_watermark: int | None = None
        self._index_lock = threading.RLock()
        self._note_lock = threading.Lock()
        self._note_due: int | None = None
        self._note_thread: threading.Thread | None = None
        self._analyzer = search.FrenchAnalyzer()
        self._passage_terms = passages.TermsCache()
        self._matcher: GlossaryMatcher | None = None
        self._glossary_signature: object = None
        self._glossary_lock = threading.Lock()
        self.metrics_registry = CollectorRegistry(auto_describe=True)
        self._latency = Histogram(
            "svp_search_latency_seconds", "Search latency, from text to ranked entries.",
            buckets=LATENCY_BUCKETS, registry=self.metrics_registry)
        self._searches = Counter(
            "svp_searches", "Searches by outcome.", ["outcome"], registry=self.metrics_registry)
        self._index_size = Gauge(
            "svp_index_vectors", "Vectors in this process's index.",
            registry=self.metrics_registry)
        self._index_size.set_function(lambda: len(self._store) if self._store is not None else 0)

    @classmethod
    def from_url(cls, database_url: str, *, embedder_factory: Callable[[], Embedder],
                 index_dir: Path, abstain_threshold: float | None = None,
                 ranking: search.Ranking | None = None,
                 legal_texts_file: Path | None = None) -> Knowledge:
        """Build the knowledge base of a database URL."""
        return cls(engine=make_engine(database_url), embedder_factory=embedder_factory,
                   index_dir=index_dir, abstain_threshold=abstain_threshold, ranking=ranking,
                   legal_texts_file=legal_texts_file)

    @property
    def legal_names(self) -> TextNames:
        """The usual names of laws and decrees the reference parser knows (loaded once)."""
        if self._legal_names is None:
            self._legal_names = load_text_names(self.legal_texts_file)
        return self._legal_names

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use (loading a model takes a moment)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = self._embedder_factory()
        return self._embedder

    @property
    def abstain_threshold(self) -> float:
        """The score below which nothing is suggested (setting, else the model's default)."""
        if self.abstain_threshold_setting is not None:
            return self.abstain_threshold_setting
        return search.default_threshold(self.embedder.model_id)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a unit of work: committed when the block succeeds, rolled back otherwise."""
        with unit_of_work(self.sessions) as session:
            yield session

    def reading(self) -> AbstractContextManager[Session]:
        """A read-only session that never waits on SQLite's write lock (rolled back after)."""
        return self._read()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        # Reads never take SQLite's write lock, so searches go on during a long import.
        session = self._reads()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    # --- search --------------------------------------------------------------------------

    def similar(self, text: str, *, k: int = 5, min_score: float | None = None,
                passages: bool = True) -> SearchResult:
        """Return the active entries closest to a question (with their best passage), or none."""
        started = time.perf_counter()
        query = clean(text)
        threshold = self.abstain_threshold if min_score is None else min_score
        if not query or k <= 0:
            return SearchResult(query=text, abstained=True)
        self.sync_index()
        ranking = self.ranking
        expansion = self.expand(query)
        vector = self.embedder.embed_queries([search.dense_query(expansion, ranking)])
        hits = self._ranked_hits(expansion, vector, k, ranking)
        result = search.decide(query=text, hits=hits, k=k, threshold=threshold)
        if passages and result.hits:
            # The query vector already made serves again: passages never change the ranking.
            result = replace(result, hits=self._with_passages(result.hits, expansion, vector,
                                                              ranking))
        self._latency.observe(time.perf_counter() - started)
        self._searches.labels("abstained" if result.abstained else "suggested").inc()
        return result

    def expand(self, text: str) -> Expansion:
        """Return what the glossary makes of a query (its terms and their equivalents)."""
        with self._read_engine.connect() as connection:
            current = glossary.signature(session=connection)
            if current != self._glossary_signature or self._matcher is None:
                with self._glossary_lock:
                    records = glossary.all_records(session=connection)
                    self._matcher = GlossaryMatcher(records, self._analyzer)
                    self._glossary_signature = current
        return self._matcher.expand(clean(text))

    def near_duplicates(self, question: str, answer: str, *, min_score: float,
                        k: int = 3) -> list[SearchHit]:
        """Return active entries whose stored passage is close to this question and answer."""
        if k <= 0:
            return []
        self.sync_index()
        vector = self.embedder.embed_passages([embeddings.passage_text(clean(question),
                                                                       clean(answer))])
        return [hit for hit in self._hits(vector, k) if hit.score >= min_score][:k]

    def _dense(self, vector: np.ndarray, pool: int, *,
               passages_only: bool = False) -> list[tuple[int, float]]:
        # An entry may have several vectors (its passage, its learnt phrasings): it scores its
        # best one. Twice the pool is fetched so that `pool` distinct entries usually remain.
        scores, ids = self._index().search(vector, pool * 2)
        best: dict[int, float] = {}
        valid = ids[0] >= 0
        if passages_only:
            valid &= ids[0] <= embeddings.ENTRY_ID_MASK
        for entry_id, score in zip(embeddings.entry_ids_of(ids[0][valid]).tolist(),
                                   scores[0][valid].tolist(), strict=True):
            if entry_id not in best:
                best[entry_id] = float(score)
        return list(best.items())[:pool]

    def _candidates(self, vector: np.ndarray, pool: int,
                    ranking: search.Ranking) -> list[tuple[int, float]]:
        # The pool of dense neighbours, each entry scored from its vectors as the ranking says
        # (see search.Ranking): passage and question combined, learnt phrasings by their best.
        store = self._index()
        off = ranking.question_vectors == "off"
        # Twice the pool (three times without question vectors, half the index) is fetched so
        # that `pool` distinct entries usually remain.
        scores, ids = store.search(vector, pool * (3 if off else 2))
        valid = ids[0] >= 0
        if off:
            valid &= (ids[0] >> embeddings.ENTRY_ID_BITS) != embeddings.QUESTION_SLOT
        best: dict[int, float] = {}
        for entry_id, score in zip(embeddings.entry_ids_of(ids[0][valid]).tolist(),
                                   scores[0][valid].tolist(), strict=True):
            if entry_id not in best:
                best[entry_id] = float(score)
        pool_ids = list(best)[:pool]
        if ranking.question_vectors != "weighted":
            return [(entry_id, best[entry_id]) for entry_id in pool_ids]
        found = dict(zip(ids[0][valid].tolist(), scores[0][valid].tolist(), strict=True))
        query = vector[0]
        weighted = []
        for entry_id in pool_ids:
            passage = _cosine(store, found, entry_id, query)
            question = _cosine(store, found, embeddings.question_vector_id(entry_id), query)
            dense = ranking.dense_score(passage if passage is not None else -1.0, question)
            # A learnt phrasing still counts by itself: it is the asker's own wording.
            phrasing = max((score for vector_id, score in found.items()
                            if vector_id & embeddings.ENTRY_ID_MASK == entry_id
                            and vector_id > embeddings.ENTRY_ID_MASK
                            and vector_id >> embeddings.ENTRY_ID_BITS
                            != embeddings.QUESTION_SLOT), default=None)
            weighted.append((entry_id, dense if phrasing is None else max(dense, phrasing)))
        return sorted(weighted, key=lambda pair: -pair[1])

    def _ranked_hits(self, expansion: Expansion, vector: np.ndarray, k: int,
                     ranking: search.Ranking) -> list[SearchHit]:
        # Dense neighbours first, then re-ranked by the cosine fused with the lexical signal.
        dense = self._candidates(vector, max(ranking.rerank_pool, k + search.CANDIDATE_MARGIN),
                                 ranking)
        if not dense:
            return []
        concepts = search.lexical_concepts(expansion, ranking)
        # A plain connection: an ORM session costs more than these two reads on each search.
        with self._read_engine.connect() as session:
            terms = embeddings.stored_terms(session=session,
                                            entry_ids=[entry_id for entry_id, _ in dense])
            lexical = search.concept_scores(concepts,
                                            [terms.get(entry_id) for entry_id, _ in dense])
            by_question = [0.0] * len(dense)
            if ranking.question_lexical_weight:
                questions = dict(session.execute(
                    select(KnowledgeEntry.id, KnowledgeEntry.question)
                    .where(KnowledgeEntry.id.in_([entry_id for entry_id, _ in dense]))).all())
                by_question = search.concept_scores(
                    concepts, [self._analyzer.terms(questions.get(entry_id) or "")
                               for entry_id, _ in dense])
            fused = sorted(((entry_id,
                             search.fuse(score, lex, ranking.lexical_weight, qlex,
                                         ranking.question_lexical_weight))
                            for (entry_id, score), lex, qlex
                            in zip(dense, lexical, by_question, strict=True)),
                           key=lambda pair: -pair[1])
            ranked = fused[:k + search.CANDIDATE_MARGIN]
            return search.active_hits(session=session, ranked=ranked)[:k]

    def _with_passages(self, hits: list[SearchHit], expansion: Expansion,
                       vector: np.ndarray,
                       ranking: search.Ranking | None = None) -> list[SearchHit]:
        entries = [passages.EntryText(entry_id=hit.entry_id, question=hit.question,
                                      answer=hit.answer,
                                      digest=embeddings.text_hash(embeddings.passage_text(
                                          hit.question, hit.answer)))
                   for hit in hits]
        with self._read_engine.connect() as connection:
            best = passages.best_passages(session=connection, entries=entries,
                                          query_vector=vector[0],
                                          concepts=search.lexical_concepts(
                                              expansion, ranking or self.ranking),
                                          model_id=self.embedder.model_id,
                                          analyzer=self._analyzer, cache=self._passage_terms)
        return [replace(hit, passage=best.get(hit.entry_id)) for hit in hits]

    def passage_for(self, text: str, entry_id: int) -> search.Passage | None:
        """Return the passage of an active entry closest to a question (None without one)."""
        query = clean(text)
        if not query:
            return None
        with self._read_engine.connect() as connection:
            hit = next(iter(search.active_hits(session=connection, ranked=[(entry_id, 0.0)])),
                       None)
        if hit is None:
            return None
        ranking = self.ranking
        expansion = self.expand(query)
        vector = self.embedder.embed_queries([search.dense_query(expansion, ranking)])
        return self._with_passages([hit], expansion, vector, ranking)[0].passage

    def embed_missing_passages(self, *, batch: int = 32) -> int:
        """Cut and embed the passages still missing or stale, a unit of work per batch."""
        embedder = self.embedder
        with self.reading() as session:
            pending = embeddings.stale_passage_entry_ids(session=session,
                                                         model_id=embedder.model_id)
        done = 0
        for start in range(0, len(pending), max(1, batch)):
            # An interruption keeps the batches done; the next call takes up the rest.
            with self.session() as session:
                done += embeddings.embed_entry_passages(session=session, embedder=embedder,
                                                        entry_ids=pending[start:start + batch])
        if pending:
            logger.info("cut and embedded the passages of %s entries", done)
        return done

    def _hits(self, vector: np.ndarray, k: int) -> list[SearchHit]:
        # Passage against passage: phrasings (questions) are left out of duplicate checks.
        ranked = self._dense(vector, k + search.CANDIDATE_MARGIN, passages_only=True)
        with self._read_engine.connect() as session:
            return search.active_hits(session=session, ranked=ranked)[:k]

    # --- index ---------------------------------------------------------------------------

    def _index(self) -> VectorStore:
        store = self._store
        if store is None:
            with self._index_lock:
                if self._store is None:
                    self._store = self._open_index()
                store = self._store
        return store

    def sync_index(self) -> None:
        """Apply the changes committed by any process since this index's watermark."""
        store = self._index()
        # The common case (nothing changed) costs one indexed read on a plain connection.
        with self._read_engine.connect() as connection:
            head = embeddings.log_head(session=connection)
        if head.epoch == store.epoch and head.value <= store.watermark:
            return
        with self._index_lock:
            store = self._index()
            if head.epoch != store.epoch or head.value < store.watermark:
                logger.warning("the change log was reset: rebuilding the index")
                self._store = self._rebuild_locked()
                return
            with self._read_engine.connect() as connection:
                pruned = log_readers.has_gap(session=connection, watermark=store.watermark)
            if pruned:
                logger.warning("changes this index had not applied were pruned: rebuilding it")
                self._store = self._rebuild_locked()
                return
            self._catch_up(store)
            self._note_reader(store.watermark)

    def rebuild_index(self) -> int:
        """Rebuild the index from the stored vectors, save it; return how many entries it holds."""
        with self._index_lock:
            self._store = self._rebuild_locked()
            # An entry has several vectors (passage, question, learnt phrasings).
            return len(np.unique(embeddings.entry_ids_of(self._store.ids())))

    def save(self) -> None:
        """Save the index to disk if it changed since it was loaded or last saved."""
        with self._index_lock:
            store = self._store
            if store is None or store.watermark == self._saved_watermark:
                return
            self._save_locked(store)

    def check_index(self) -> list[str]:
        """Compare the saved index with the database; return the problems found (in French)."""
        embedder = self.embedder
        problems: list[str] = []
        try:
            store = VectorStore.load(self.index_dir, model_id=embedder.model_id,
                                     dim=embedder.dim)
        except IndexUnusable as error:
            problems.append(f"{error.reason} (lancez « svp index rebuild »)")
        else:
            with self._read() as session:
                head = embeddings.log_head(session=session)
            if store.epoch != head.epoch:
                problems.append("index enregistré pour une autre base de données")
            elif store.watermark > head.value:
                problems.append(f"index en avance sur la base (révision {store.watermark} > "
                                f"{head.value})")
            else:
                self._catch_up(store)
                problems.extend(self._differences(store, compare_vectors=True))
        with self._read() as session:
            stale = embeddings.stale_entry_ids(session=session, model_id=embedder.model_id)
            waiting = embeddings.stale_phrasing_ids(session=session, model_id=embedder.model_id)
            uncut = embeddings.stale_passage_entry_ids(session=session,
                                                       model_id=embedder.model_id)
        if stale:
            problems.append(f"{len(stale)} fiche(s) active(s) sans vecteur à jour pour le "
                            f"modèle « {embedder.model_id} » : lancez « svp index reembed »")
        if waiting:
            problems.append(f"{len(waiting)} formulation(s) apprise(s) sans vecteur pour le "
                            f"modèle « {embedder.model_id} » : lancez « svp index reembed »")
        if uncut:
            problems.append(f"{len(uncut)} fiche(s) active(s) sans passages à jour pour le "
                            f"modèle « {embedder.model_id} » : lancez « svp index reembed »")
        return problems

    def _open_index(self) -> VectorStore:
        embedder = self.embedder
        try:
            store = VectorStore.load(self.index_dir, model_id=embedder.model_id,
                                     dim=embedder.dim)
            with self._read() as session:
                head = embeddings.log_head(session=session)
            if store.epoch != head.epoch:
                raise IndexUnusable("index enregistré pour une autre base de données")
            if store.watermark > head.value:
                raise IndexUnusable("index en avance sur la base de données")
            with self._read() as session:
                if log_readers.has_gap(session=session, watermark=store.watermark):
                    raise IndexUnusable("modifications élaguées depuis l'enregistrement de "
                                        "l'index")
            self._saved_watermark = store.watermark
            self._catch_up(store)
            differences = self._differences(store)
            if differences:
                # A change may have landed between catching up and comparing: try once more.
                self._catch_up(store)
                differences = self._differences(store)
            if differences:
                raise IndexUnusable("; ".join(differences))
        except IndexUnusable as error:
            # A first start has no index yet: that is no reason to alarm the operator.
            level = logging.INFO if isinstance(error, IndexMissing) else logging.WARNING
            logger.log(level, "index in %s not usable (%s): rebuilding it from stored vectors",
                       self.index_dir, error.reason)
            return self._rebuild_locked()
        logger.info("index loaded from %s: %s vectors, watermark %s", self.index_dir,
                    len(store), store.watermark)
        self._note_reader(store.watermark)
        return store

    def _rebuild_locked(self) -> VectorStore:
        embedder = self.embedder
        started = time.perf_counter()
        with self._read() as session:
            # Head first: vectors read afterwards are at least as new as the watermark.
            head = embeddings.log_head(session=session)
            store = VectorStore(model_id=embedder.model_id, dim=embedder.dim, epoch=head.epoch,
                                watermark=head.value)
            # Chunks keep the peak memory near the index's own size.
            for ids, vectors in embeddings.iter_stored_vectors(
                    session=session, model_id=embedder.model_id, dim=embedder.dim):
                store.extend(ids, vectors)
            active = session.scalar(select(func.count()).select_from(KnowledgeEntry)
                                    .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value))
        logger.info("index rebuilt from %s stored vectors in %.2f s", len(store),
                    time.perf_counter() - started)
        held_entries = int(np.sum(store.ids() <= embeddings.ENTRY_ID_MASK))
        if active and active > held_entries:
            # Typically SVP_EMBEDDER changed: those entries cannot be found until re-embedded.
            logger.warning("%s active entries have no vector for %s: run `svp index reembed`",
                           active - held_entries, embedder.model_id)
        self._save_locked(store)
        self._note_reader(store.watermark)
        return store

    def _note_reader(self, watermark: int) -> None:
        # Tells the pruning job how far this process has read. Written from a thread of its own:
        # a search may run inside a caller's unit of work, whose write lock it must not wait on.
        with self._note_lock:
            self._note_due = watermark
            if self._note_thread is not None:
                return
            self._note_thread = threading.Thread(target=self._write_notes, daemon=True,
                                                 name="svp-index-reader")
            self._note_thread.start()

    def _write_notes(self) -> None:
        while True:
            with self._note_lock:
                watermark, self._note_due = self._note_due, None
                if watermark is None:
                    self._note_thread = None
                    return
            try:
                with self.session() as session:
                    log_readers.note(session=session, name=log_readers.reader_name(),
                                     watermark=watermark)
            except Exception as error:  # never worth failing anything for
                logger.debug("could not note this index's watermark: %s", error)

    def prune_index_log(self) -> int:
        """Delete the index changes every live process has applied; return how many."""
        with self.session() as session:
            return log_readers.prune(session=session)

    def _save_locked(self, store: VectorStore) -> None:
        if not self.save_index:
            return
        try:
            store.save(self.index_dir)
        except OSError as error:
            logger.warning("could not save the index in %s: %s", self.index_dir, error)
            return
        self._saved_watermark = store.watermark

    def _catch_up(self, store: VectorStore) -> None:
        embedder = self.embedder
        with self._read() as session:
            changed, last = embeddings.changed_entry_ids(session=session, after=store.watermark)
            if not changed:
                return
            found_ids: list[np.ndarray] = []
            found_vectors: list[np.ndarray] = []
            for start in range(0, len(changed), IN_CLAUSE_CHUNK):
                ids, vectors = embeddings.stored_vectors(
                    session=session, model_id=embedder.model_id, dim=embedder.dim,
                    entry_ids=changed[start:start + IN_CLAUSE_CHUNK])
                found_ids.append(ids)
                found_vectors.append(vectors)
        upsert_ids = np.concatenate(found_ids)
        # The current state decides (not the logged operation): applying it twice is harmless.
        # Every vector of a changed entry that the database no longer holds goes (a retired
        # entry, a removed phrasing).
        held = store.ids()
        held_changed = held[np.isin(embeddings.entry_ids_of(held),
                                    np.asarray(changed, dtype=np.int64))]
        remove_ids = np.union1d(np.setdiff1d(held_changed, upsert_ids),
                                np.setdiff1d(np.asarray(changed, dtype=np.int64), upsert_ids))
        store.apply(upsert_ids=upsert_ids, upsert_vectors=np.concatenate(found_vectors),
                    remove_ids=remove_ids, watermark=last)
        logger.debug("index caught up to %s: %s upserts, %s removals", last, len(upsert_ids),
                     len(remove_ids))

    def _differences(self, store: VectorStore, *, compare_vectors: bool = False) -> list[str]:
        embedder = self.embedder
        with self._read() as session:
            ids = embeddings.stored_ids(session=session, model_id=embedder.model_id,
                                        dim=embedder.dim)
        held = np.sort(store.ids())
        missing = np.setdiff1d(ids, held)
        extra = np.setdiff1d(held, ids)
        problems = []
        if len(missing):
            problems.append(f"{len(missing)} fiche(s) active(s) absente(s) de l'index")
        if len(extra):
            problems.append(f"{len(extra)} vecteur(s) de l'index sans fiche active")
        if compare_vectors and not problems and len(ids):
            differing = 0
            with self._read() as session:
                for chunk_ids, vectors in embeddings.iter_stored_vectors(
                        session=session, model_id=embedder.model_id, dim=embedder.dim):
                    gap = np.abs(store.vectors(chunk_ids.tolist()) - vectors).max(axis=1)
                    differing += int(np.sum(gap > 1e-5))
            if differing:
                problems.append(f"{differing} vecteur(s) de l'index diffèrent de la base")
        return problems

    def __enter__(self) -> Knowledge:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self, *, save: bool = True) -> None:
        """Save the index if it moved on (unless told not to); release the connections."""
        try:
            if save:
                self.save()
        finally:
            if self._read_engine is not self.engine:
                self._read_engine.dispose()
            self.engine.dispose()


def _read_engine_of(engine: Engine) -> Engine:
    """Return an engine for reads that never take SQLite's write lock.

    The main SQLite engine opens every transaction with BEGIN IMMEDIATE, so a read would wait
    behind a long write; this one lets pysqlite run SELECTs on WAL snapshots instead.
    PostgreSQL readers never block: the main engine serves.
    """
    if not is_sqlite(engine) or engine.url.database in (None, "", ":memory:"):
        return engine
    reader = create_engine(
        engine.url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return reader


def _cosine(store: VectorStore, found: dict[int, float], vector_id: int,
            query: np.ndarray) -> float | None:
    """The cosine of a stored vector with the query (None when the index does not hold it)."""
    if vector_id in found:
        return found[vector_id]
    try:
        return float(store.vectors([vector_id])[0] @ query)
    except KeyError:
        return None
