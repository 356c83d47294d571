"""Retrieval quality on the labelled sets over the demo base, for several ranking variants.

Builds a throwaway SQLite database with the demo knowledge base and its shipped vectors (no
passage is re-embedded), embeds each query once, and prints Recall@1/@5, MRR, abstention AUC
and the decision quality at the best and the configured thresholds for each set and variant.

    python bench/retrieval_quality.py [--sets devset.jsonl svp-devset.jsonl] [--variants ...]

Issue 27: one table per change (a row per ranking, a column per set: dev sets and holdouts
1-3 by default), Recall@1 / Recall@5 / AUC / evidence@1:

    python bench/retrieval_quality.py --tables questions glossary lexical pool weighted
    python bench/retrieval_quality.py --tables final --ranking "label:question_weight=0.6" \
        --thresholds 0.80 0.81

`final` compares today's 0.3.0 ranking (max), the 0.2.0 one and the `--ranking` rows; the
rankings are `knowledge.retrieval.search.Ranking` fields over the 0.3.0 one. The variant
`shipped` is the current default; `max` is the 0.3.0 ranking the earlier rounds measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import select, update

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchlib import print_machine  # noqa: E402

from index.embedders import Embedder, Vectors, make_embedder  # noqa: E402
from index.precomputed import with_precomputed  # noqa: E402
from knowledge.catalog import importing  # noqa: E402
from knowledge.retrieval import embeddings, phrasings, search  # noqa: E402
from knowledge.retrieval.evaluation import (  # noqa: E402
    EvaluationReport,
    decision_quality,
    evaluate,
    load_labelled_queries,
)
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


# Ranking variants of the earlier rounds (docs/evaluation.md): a ranking, plus module knobs of
# knowledge.retrieval.search that are not settings (how the dense query is expanded, the share
# of a glossary equivalent's match).
VARIANTS: dict[str, tuple[search.Ranking, dict[str, object]]] = {
    "shipped": (search.Ranking(), {}),
    "max": (search.Ranking(question_vectors="max"), {}),
    "before-question-vectors": (search.Ranking(question_vectors="off"), {}),
    "baseline": (search.Ranking(question_vectors="off", glossary="off"), {}),
    "lexical": (search.Ranking(question_vectors="off", glossary="lexical"), {}),
    "lexical-a0.7": (search.Ranking(question_vectors="off", glossary="lexical"),
                     {"ALTERNATIVE_WEIGHT": 0.7}),
    "dense-acronyms": (search.Ranking(question_vectors="off", glossary="dense"),
                       {"GLOSSARY_DENSE": "acronyms"}),
    "dense-headwords": (search.Ranking(question_vectors="off", glossary="dense"), {}),
    "lexical+dense-acronyms": (search.Ranking(question_vectors="off"),
                               {"GLOSSARY_DENSE": "acronyms"}),
    "lexical+dense-headwords": (search.Ranking(question_vectors="off"), {}),
    "lexical-w0.15": (search.Ranking(question_vectors="off", glossary="lexical",
                                     lexical_weight=0.15), {}),
    "lexical-w0.2": (search.Ranking(question_vectors="off", glossary="lexical",
                                    lexical_weight=0.2), {}),
    "question-lex-0.05": (search.Ranking(question_vectors="max", question_lexical_weight=0.05), {}),
    "question-lex-0.1": (search.Ranking(question_vectors="max", question_lexical_weight=0.1), {}),
    "question-lex-0.05-w0.05": (search.Ranking(question_vectors="max",
                                               question_lexical_weight=0.05,
                                               lexical_weight=0.05), {}),
    "baseline-w0.15": (search.Ranking(question_vectors="off", glossary="off",
                                      lexical_weight=0.15), {}),
}


def apply_variant(knowledge: Knowledge, name: str) -> dict[str, object]:
    """Set a variant's ranking and module knobs; return the knobs' previous values."""
    ranking, knobs = VARIANTS[name]
    knowledge.ranking = ranking
    previous = {}
    for key, value in knobs.items():
        previous[key] = getattr(search, key)
        setattr(search, key, value)
    return previous


# --- issue 27: one table per change, every set ---------------------------------------------

# Sets tuned on, and sets that choose the default (never tuned on). Holdout 4 is run apart,
# once, at the end (--sets svp-holdout-4.jsonl --tables final).
DEV_SETS = ["devset.jsonl", "svp-devset.jsonl"]
HELD_SETS = ["devset-holdout.jsonl", "svp-holdout.jsonl", "svp-holdout-2.jsonl",
             "svp-holdout-3.jsonl"]
TODAY = search.Ranking(question_vectors="max", question_weight=0.5, glossary="on",
                       lexical_weight=0.1, question_lexical_weight=0.0, rerank_pool=50)
BEFORE = replace(TODAY, question_vectors="off", glossary="off")  # engine of 0.2.0
# The best question weight of the first round on the development sets (0.4 and 0.7 tie on
# Recall@1, 0.7 has the better abstention AUC).
WEIGHTED = replace(TODAY, question_vectors="weighted", question_weight=0.7)

TABLES: dict[str, tuple[str, list[tuple[str, search.Ranking]]]] = {
    "questions": ("Vecteurs de question : comment ils se combinent au passage", [
        ("max(passage, question) (aujourd'hui)", TODAY),
        *[(f"pondéré, question {w}", replace(TODAY, question_vectors="weighted",
                                             question_weight=w))
          for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)],
        ("sans vecteur de question", replace(TODAY, question_vectors="off")),
    ]),
    "glossary": ("Glossaire : où il agit", [
        ("lexical + requête plongée (aujourd'hui)", TODAY),
        ("lexical seulement", replace(TODAY, glossary="lexical")),
        ("requête plongée seulement", replace(TODAY, glossary="dense")),
        ("sans glossaire", replace(TODAY, glossary="off")),
    ]),
    "lexical": ("Poids du signal lexical", [
        *[(f"poids {w}" + (" (aujourd'hui)" if w == 0.1 else ""),
           replace(TODAY, lexical_weight=w)) for w in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)],
    ]),
    "weighted": ("Autour de la combinaison pondérée (second tour, réglé sur les jeux de "
                 "développement)", [
        *[(f"pondéré, question {w}", replace(WEIGHTED, question_weight=w))
          for w in (0.6, 0.7, 0.8, 0.9)],
        *[(f"pondéré 0.7, poids lexical {w}", replace(WEIGHTED, lexical_weight=w))
          for w in (0.05, 0.15)],
        *[(f"pondéré 0.7, glossaire {mode}", replace(WEIGHTED, glossary=mode))
          for mode in ("lexical", "dense", "off")],
        *[(f"pondéré 0.7, {n} candidats", replace(WEIGHTED, rerank_pool=n)) for n in (20, 100)],
    ]),
    "pool": ("Candidats reclassés", [
        *[(f"{n} candidats" + (" (aujourd'hui)" if n == 50 else ""),
           replace(TODAY, rerank_pool=n)) for n in (20, 50, 100)],
    ]),
}


def parse_ranking(text: str) -> search.Ranking:
    """A ranking from `key=value,key=value` (fields of search.Ranking), over today's."""
    values: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        key, _, raw = item.partition("=")
        default = getattr(TODAY, key)
        values[key] = type(default)(raw)
    return replace(TODAY, **values)  # type: ignore[arg-type]


class Measures:
    """Evaluates rankings on sets over one demo knowledge base, each pair once."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.reports: dict[tuple[search.Ranking, str], EvaluationReport] = {}

    def report(self, ranking: search.Ranking, name: str) -> EvaluationReport:
        key = (ranking, name)
        if key not in self.reports:
            self.knowledge.ranking = ranking
            self.reports[key] = evaluate(knowledge=self.knowledge,
                                         queries=load_labelled_queries(path=DATA / name), k=5)
        return self.reports[key]

    def cell(self, ranking: search.Ranking, name: str) -> str:
        report = self.report(ranking, name)
        numbers = [report.recall_at_1, report.recall_at_5, report.abstain_auc or 0.0]
        cell = " / ".join(f"{value:.3f}" for value in numbers)
        if report.evidence is not None and report.evidence.passage is not None:
            cell += f" / év. {report.evidence.passage:.3f}"
        return cell

    def held_mean(self, ranking: search.Ranking, sets: list[str]) -> tuple[float, float]:
        """Mean Recall@1 and mean AUC over the SVP holdouts among `sets` (the choosing sets)."""
        held = [name for name in sets if name.startswith("svp-holdout")
                and name != "svp-holdout-4.jsonl"]
        if not held:
            return (0.0, 0.0)
        reports = [self.report(ranking, name) for name in held]
        return (sum(r.recall_at_1 for r in reports) / len(reports),
                sum((r.abstain_auc or 0.0) for r in reports) / len(reports))


def print_thresholds(measures: Measures, rows: list[tuple[str, search.Ranking]],
                     sets: list[str], thresholds: list[float]) -> None:
    """MRR, the best abstention threshold and the decision at given thresholds, per set."""
    cuts = " | ".join(f"à {t:.3f} : P / R / F1" for t in thresholds)
    print("\n| jeu | classement | MRR | seuil optimal (P / R / F1) | " + cuts + " |")
    print("| --- | --- | --- | --- |" + " --- |" * len(thresholds))
    for name in sets:
        for label, ranking in rows:
            report = measures.report(ranking, name)
            best = report.best
            cells = [f"{report.mrr:.3f}",
                     "—" if best is None else
                     f"{best.threshold:.3f} ({best.precision:.2f} / {best.recall:.2f} / "
                     f"{best.f1:.2f})"]
            for threshold in thresholds:
                quality = decision_quality(ranked=report.ranked, threshold=threshold)
                cells.append(f"{quality.precision:.2f} / {quality.recall:.2f} / "
                             f"{quality.f1:.2f}")
            print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


def print_table(measures: Measures, title: str, rows: list[tuple[str, search.Ranking]],
                sets: list[str]) -> None:
    """One Markdown table: a row per ranking, a column per set, R@1 / R@5 / AUC / evidence@1."""
    print(f"\n### {title}\n")
    held = [n for n in sets if n.startswith("svp-holdout") and n != "svp-holdout-4.jsonl"]
    extra = " | moyenne réservés SVP 1-3 (R@1 / AUC)" if held else ""
    print("| classement | " + " | ".join(sets) + extra + " |")
    print("| --- |" + " --- |" * (len(sets) + (1 if held else 0)))
    for label, ranking in rows:
        cells = [measures.cell(ranking, name) for name in sets]
        if held:
            r1, auc = measures.held_mean(ranking, sets)
            cells.append(f"{r1:.3f} / {auc:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


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
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=None,
                        help="labelled sets of tests/data (default: the dev sets, or with "
                             "--tables, the dev sets and holdouts 1-3)")
    parser.add_argument("--variants", nargs="+", default=None, choices=sorted(VARIANTS),
                        help="earlier rounds' variants, one line per set and variant")
    parser.add_argument("--tables", nargs="+", default=None,
                        choices=[*sorted(TABLES), "final"],
                        help="issue 27: one table per change over every set")
    parser.add_argument("--ranking", action="append", default=[], metavar="LABEL:K=V,...",
                        help="a ranking for the `final` table, e.g. "
                             "'pondéré 0,4:question_vectors=weighted,question_weight=0.4'")
    parser.add_argument("--thresholds", nargs="*", type=float, default=None,
                        help="with the `final` table: MRR, best threshold and the decision at "
                             "these thresholds, per set and ranking")
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
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = demo_knowledge(Path(tmp), embedder)
        if args.no_question_vectors:
            with knowledge.session() as session:
                session.execute(update(embeddings.EntryEmbedding).values(question_vector=None))
            knowledge.rebuild_index()
        if args.learn:
            print(f"learnt {learn_phrasings(knowledge, args.learn)} phrasings from {args.learn} "
                  f"(embedded as {args.phrasing_as})")
        if args.tables:
            sets = args.sets or [*DEV_SETS, *HELD_SETS]
            measures = Measures(knowledge)
            print("Cellules : Rappel@1 / Rappel@5 / AUC d'abstention (/ évidence@1 du passage "
                  "montré, jeux étiquetés).")
            for table in args.tables:
                if table == "final":
                    rows = [("aujourd'hui (0.3.0)", TODAY), ("avant (0.2.0)", BEFORE)]
                    for spec in args.ranking:
                        label, _, fields = spec.partition(":")
                        rows.append((label, parse_ranking(fields)))
                    print_table(measures, "Configurations retenues", rows, sets)
                    if args.thresholds is not None:
                        print_thresholds(measures, rows, sets, args.thresholds)
                else:
                    title, rows = TABLES[table]
                    print_table(measures, title, rows, sets)
        else:
            print("| set | variant | R@1 | R@5 | MRR | AUC | best t (P/R) | configured t (P/R) |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            for variant in args.variants or ["baseline", "shipped"]:
                previous = apply_variant(knowledge, variant)
                for name in args.sets or DEV_SETS:
                    print(report_line(name, variant, knowledge), flush=True)
                for key, value in previous.items():
                    setattr(search, key, value)
        knowledge.close(save=False)


if __name__ == "__main__":
    main()
