"""The knowledge base as one object: database, embedder and vector index of a process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from index.embedders import Embedder
from knowledge.db import make_engine, make_session_factory, unit_of_work

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """One suggested entry with its score (higher is closer)."""

    entry_id: int
    external_id: str | None
    question: str
    answer: str
    score: float
    theme: str | None
    source: str | None


@dataclass(frozen=True)
class SearchResult:
    """The answer to a search: ranked hits, or an abstention when nothing is close enough."""

    query: str
    abstained: bool
    hits: list[SearchHit] = field(default_factory=list)


class Knowledge:
    """Owns a process's engine, session factory, embedder and vector index."""

    def __init__(
        self,
        *,
        engine: Engine,
        embedder_factory: Callable[[], Embedder],
        index_dir: Path,
        abstain_threshold: float | None = None,
    ) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self.index_dir = index_dir
        self.abstain_threshold_setting = abstain_threshold
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()

    @classmethod
    def from_url(cls, database_url: str, *, embedder_factory: Callable[[], Embedder],
                 index_dir: Path, abstain_threshold: float | None = None) -> Knowledge:
        """Build the knowledge base of a database URL."""
        return cls(engine=make_engine(database_url), embedder_factory=embedder_factory,
                   index_dir=index_dir, abstain_threshold=abstain_threshold)

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use (loading a model takes a moment)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = self._embedder_factory()
        return self._embedder

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a unit of work: committed when the block succeeds, rolled back otherwise."""
        with unit_of_work(self.sessions) as session:
            yield session

    def similar(self, text: str, *, k: int = 5) -> SearchResult:
        """Return the active entries closest to a question, or an abstention."""
        raise NotImplementedError("filled by the retrieval-engine issue")

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
