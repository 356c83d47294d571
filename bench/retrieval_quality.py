"""Retrieval quality on the labelled sets over the demo base, for several ranking variants.

Builds a throwaway SQLite database with the demo knowledge base and its shipped vectors (no
passage is re-embedded), embeds each query once, and prints Recall@1/@5, MRR, abstention AUC
and the decision quality at the best and the configured thresholds for each set and variant.

    python bench/retrieval_quality.py [--sets devset.jsonl svp-devset.jsonl] [--variants ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.embedders import Embedder, Vectors, make_embedder  # noqa: E402
from index.precomputed import with_precomputed  # noqa: E402
from knowledge.catalog import importing  # noqa: E402
from knowledge.retrieval.evaluation import evaluate, load_labelled_queries  # noqa: E402
from knowledge.runtime import Knowledge  # noqa: E402
from knowledge.store import migrate  # noqa: E402
from knowledge.store.db import make_engine, sqlite_url_for  # noqa: E402

DATA = ROOT / "tests" / "data"
DEMO = ROOT / "knowledge" / "data" / "demo-kb.jsonl"
VECTORS = ROOT / "knowledge" / "data" / "demo-kb.e5-small-int4.npz"


class CachedQueries:
    """Wraps an embedder so that each distinct query is embedded once per run."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        missing = [text for text in texts if text not in self.cache]
        if missing:
            for text, vector in zip(missing, self.inner.embed_queries(missing), strict=True):
                self.cache[text] = vector
        return np.stack([self.cache[text] for text in texts]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)


def demo_knowledge(workdir: Path, embedder: Embedder) -> Knowledge:
    """A Knowledge over a fresh SQLite file holding the demo base with its shipped vectors."""
    url = sqlite_url_for(workdir / "quality.db")
    engine = make_engine(url)
    migrate.upgrade(engine)
    knowledge = Knowledge(engine=engine, embedder_factory=lambda: embedder,
                          index_dir=workdir / "index", save_index=False)
    with knowledge.session() as session:
        importing.import_file(session=session, path=DEMO, actor="bench",
                              embedder=with_precomputed(embedder, VECTORS))
    knowledge.sync_index()
    return knowledge


def report_line(name: str, variant: str, knowledge: Knowledge) -> str:
    queries = load_labelled_queries(path=DATA / name)
    report = evaluate(knowledge=knowledge, queries=queries, k=5)
    best = report.best
    conf = report.configured
    return (f"| {name} | {variant} | {report.recall_at_1:.3f} | {report.recall_at_5:.3f} | "
            f"{report.mrr:.3f} | {report.abstain_auc or 0:.3f} | "
            f"{best.threshold if best else 0:.3f} ({best.precision if best else 0:.2f}/"
            f"{best.recall if best else 0:.2f}) | "
            f"{conf.threshold if conf else 0:.3f} ({conf.precision if conf else 0:.2f}/"
            f"{conf.recall if conf else 0:.2f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=["devset.jsonl", "svp-devset.jsonl"])
    args = parser.parse_args()
    embedder = CachedQueries(make_embedder("e5-small-int4"))
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = demo_knowledge(Path(tmp), embedder)
        print("| set | variant | R@1 | R@5 | MRR | AUC | best t (P/R) | configured t (P/R) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for name in args.sets:
            print(report_line(name, "current", knowledge), flush=True)
        knowledge.close(save=False)


if __name__ == "__main__":
    main()
