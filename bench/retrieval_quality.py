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
from sqlalchemy import select, update

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index.embedders import Embedder, Vectors, make_embedder  # noqa: E402
from index.precomputed import with_precomputed  # noqa: E402
from knowledge.catalog import importing  # noqa: E402
from knowledge.retrieval import embeddings, phrasings, search  # noqa: E402
from knowledge.retrieval.evaluation import evaluate, load_labelled_queries  # noqa: E402
from knowledge.runtime import Knowledge  # noqa: E402
from knowledge.store import migrate  # noqa: E402
from knowledge.store.db import make_engine, sqlite_url_for  # noqa: E402
from knowledge.store.models import KnowledgeEntry  # noqa: E402

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


# Ranking variants: settings of knowledge.retrieval.search applied for one run each.
VARIANTS: dict[str, dict[str, object]] = {
    "shipped": {},
    "baseline": {"GLOSSARY_LEXICAL": False, "GLOSSARY_DENSE": "off"},
    "lexical": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "off"},
    "lexical-a0.7": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "off",
                     "ALTERNATIVE_WEIGHT": 0.7},
    "dense-acronyms": {"GLOSSARY_LEXICAL": False, "GLOSSARY_DENSE": "acronyms"},
    "dense-headwords": {"GLOSSARY_LEXICAL": False, "GLOSSARY_DENSE": "headwords"},
    "lexical+dense-acronyms": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "acronyms"},
    "lexical+dense-headwords": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "headwords"},
    "lexical-w0.15": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "off",
                      "LEXICAL_WEIGHT": 0.15},
    "lexical-w0.2": {"GLOSSARY_LEXICAL": True, "GLOSSARY_DENSE": "off",
                     "LEXICAL_WEIGHT": 0.2},
    "question-lex-0.05": {"QUESTION_LEXICAL_WEIGHT": 0.05},
    "question-lex-0.1": {"QUESTION_LEXICAL_WEIGHT": 0.1},
    "question-lex-0.05-w0.05": {"QUESTION_LEXICAL_WEIGHT": 0.05, "LEXICAL_WEIGHT": 0.05},
    "baseline-w0.15": {"GLOSSARY_LEXICAL": False, "GLOSSARY_DENSE": "off",
                       "LEXICAL_WEIGHT": 0.15},
}


def apply_variant(name: str) -> dict[str, object]:
    """Set a variant's search settings; return the previous values."""
    previous = {}
    for key, value in VARIANTS[name].items():
        previous[key] = getattr(search, key)
        setattr(search, key, value)
    return previous


def learn_phrasings(knowledge: Knowledge, name: str) -> int:
    """Add the answerable queries of a set as phrasings of their first relevant entry."""
    queries = load_labelled_queries(path=DATA / name)
    added = 0
    with knowledge.session() as session:
        by_external = dict(session.execute(
            select(KnowledgeEntry.external_id, KnowledgeEntry.id)).all())
        for query in queries:
            if not query.answerable:
                continue
            entry_id = by_external[sorted(query.relevant)[0]]
            if phrasings.add_phrasing(session=session, entry_id=entry_id, text=query.text,
                                      actor="bench", embedder=knowledge.embedder) is not None:
                added += 1
    knowledge.sync_index()
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=["devset.jsonl", "svp-devset.jsonl"])
    parser.add_argument("--variants", nargs="+", default=["baseline", "shipped"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--learn", default=None,
                        help="add this set's answerable queries as phrasings first")
    parser.add_argument("--phrasing-as", choices=["query", "passage"], default="query",
                        help="how learnt phrasings are embedded")
    parser.add_argument("--no-question-vectors", action="store_true",
                        help="entries found through their passage only (before issue 11's "
                             "question vectors)")
    args = parser.parse_args()
    embeddings.PHRASING_EMBEDDING = args.phrasing_as
    embedder = CachedQueries(make_embedder("e5-small-int4"))
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = demo_knowledge(Path(tmp), embedder)
        if args.no_question_vectors:
            with knowledge.session() as session:
                session.execute(update(embeddings.EntryEmbedding).values(question_vector=None))
            knowledge.rebuild_index()
        if args.learn:
            print(f"learnt {learn_phrasings(knowledge, args.learn)} phrasings from {args.learn} "
                  f"(embedded as {args.phrasing_as})")
        print("| set | variant | R@1 | R@5 | MRR | AUC | best t (P/R) | configured t (P/R) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for variant in args.variants:
            previous = apply_variant(variant)
            for name in args.sets:
                print(report_line(name, variant, knowledge), flush=True)
            for key, value in previous.items():
                setattr(search, key, value)
        knowledge.close(save=False)


if __name__ == "__main__":
    main()
