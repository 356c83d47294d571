"""Recompute the packaged vectors of the demo knowledge base (run after changing it or e5)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from index.embedders import make_embedder
from svp.demo import PACKAGED_VECTORS, build_demo_vectors


def main() -> None:
    """Embed the demo entries with the default embedder and save them in the package."""
    with tempfile.TemporaryDirectory() as workdir:
        count = build_demo_vectors(embedder=make_embedder("e5-small-int4"),
                                   workdir=Path(workdir), out=PACKAGED_VECTORS)
    print(f"Vecteurs de {count} fiches (texte et question) écrits dans {PACKAGED_VECTORS}")


if __name__ == "__main__":
    main()
