"""The real embedder, remembered per text for the whole test worker.

The model is deterministic (a text gets the same vector alone or in a batch), so a text
embedded once need not be embedded again by the next test: the vectors are the real model's,
only the repeated work goes. Tests of the embedder itself use the model directly.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.embedders import Embedder, Vectors


class MemoisedEmbedder:
    """Wraps a real embedder; each (kind, text) is embedded once, then read from memory."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self._vectors: dict[tuple[bool, str], Vectors] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # token_count, truncate, max_tokens...: the model's own.
        return getattr(self.inner, name)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed queries with the real model, once per text."""
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the real model, once per text."""
        return self._embed(texts, is_query=False)

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        items = [str(text) for text in texts]
        with self._lock:
            missing = list(dict.fromkeys(text for text in items
                                         if (is_query, text) not in self._vectors))
        if missing:
            embed = self.inner.embed_queries if is_query else self.inner.embed_passages
            fresh = embed(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    vector.setflags(write=False)
                    self._vectors[(is_query, text)] = vector
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.vstack([self._vectors[(is_query, text)] for text in items])
