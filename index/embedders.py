"""Embedders: turn French texts into L2-normalised float32 vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


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
