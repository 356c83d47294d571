"""Vectors computed ahead of time, served in place of the embedder when texts match."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embedders import Embedder, Vectors

logger = logging.getLogger(__name__)


def passage_key(text: str) -> str:
    """Return the key of a passage: the sha256 of exactly the text given to the embedder."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def query_key(text: str) -> str:
    """Return the key of a query: apart from the passages' (one text, two vectors)."""
    return hashlib.sha256(b"query\0" + text.encode("utf-8")).hexdigest()


class PrecomputedPassages:
    """An embedder that answers known passages and queries from a table, embeds the others.

    Only vectors made by the same model (same model id, same dimension) for exactly the same
    text are reused, so the results are those the wrapped embedder would give.
    """

    def __init__(self, embedder: Embedder, table: dict[str, Vectors]) -> None:
        self.inner = embedder
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        self.table = table
        self.reused = 0

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Return stored vectors for known queries and embed the rest."""
        return self._lookup(texts, query_key, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return stored vectors for known passages and embed the rest."""
        return self._lookup(texts, passage_key, self.inner.embed_passages)

    def _lookup(self, texts: Sequence[str], key: Callable[[str], str],
                embed: Callable[[Sequence[str]], Vectors]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        for row, text in enumerate(texts):
            vector = self.table.get(key(text))
            if vector is None:
                missing.append(row)
            else:
                out[row] = vector
        if missing:
            out[missing] = embed([texts[row] for row in missing])
        self.reused += len(texts) - len(missing)
        return out


def save_table(path: Path, *, model_id: str, texts: Sequence[str], vectors: Vectors,
               queries: Sequence[str] = (), query_vectors: Vectors | None = None) -> None:
    """Write passage (and query) vectors with their keys and model id to an `.npz` file."""
    keys = [passage_key(text) for text in texts] + [query_key(text) for text in queries]
    parts = [np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)]
    if queries:
        assert query_vectors is not None and len(query_vectors) == len(queries)
        parts.append(np.asarray(query_vectors, dtype=np.float32))
    np.savez_compressed(path, model_id=np.array(model_id), keys=np.array(keys),
                        vectors=np.concatenate(parts))


def load_table(path: Path, *, model_id: str, dim: int) -> dict[str, Vectors]:
    """Read a table written by `save_table`; empty when missing or made by another model."""
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        if str(data["model_id"]) != model_id or data["vectors"].shape[1:] != (dim,):
            logger.info("precomputed vectors %s are for %s, not %s: ignored", path,
                        data["model_id"], model_id)
            return {}
        return {str(key): vector for key, vector in zip(data["keys"], data["vectors"],
                                                         strict=True)}


def with_precomputed(embedder: Embedder, path: Path) -> Embedder:
    """Wrap an embedder with the vectors of a table file when it fits that embedder."""
    table = load_table(path, model_id=embedder.model_id, dim=embedder.dim)
    return PrecomputedPassages(embedder, table) if table else embedder
