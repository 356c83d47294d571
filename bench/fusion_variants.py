"""Ranking signals beyond the shipped fusion, measured offline on the development sets.

Embeds each query once over the demo base (shipped vectors), keeps for every entry the cosine
with its passage vector and with its question vector, the query's cosines when embedded as a
passage too, and the lexical scores, then ranks with each variant and prints Recall@1/@5 and
the abstention AUC. What it measured is in docs/evaluation.md ("Quatrième étape").

    python bench/fusion_variants.py [--sets svp-devset.jsonl devset.jsonl] [--chunks]

`--chunks` also embeds every answer in windows of 250 words (50 shared), each after its entry's
question, and scores an entry by its best window too (a few minutes on two cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from retrieval_quality import DATA, CachedQueries, demo_knowledge  # noqa: E402

from index.embedders import make_embedder  # noqa: E402
from knowledge.retrieval import embeddings, search  # noqa: E402
from knowledge.retrieval.evaluation import load_labelled_queries, separation_auc  # noqa: E402
from knowledge.store.models import KnowledgeEntry  # noqa: E402

Array = npt.NDArray[np.float64]
POOL = 50  # candidates re-ranked, as search.RERANK_POOL


@dataclass
class Query:
    """One labelled query with its signals over the candidate pool (best dense first)."""

    relevant: set[str]
    external: list[str]
    passage: Array  # cosine with the entry's passage vector (query embedded as a query)
    question: Array  # cosine with the entry's question vector
    passage_sym: Array  # the same two with the query embedded as a passage
    question_sym: Array
    lexical: Array  # the shipped lexical signal (idf over the pool)
    lexical_corpus: Array  # the same with idf over the whole base
    lexical_head: Array  # lexical against the question and the answer's first 300 characters
    chunk: Array  # best cosine with a window of the answer (zeros without --chunks)


Variant = Callable[[Query], Array]


def windows(answer: str, size: int = 250, shared: int = 50) -> list[str]:
    """The answer cut in windows of `size` words, each sharing `shared` with the previous."""
    words = answer.split()
    out, start = [], 0
    while True:
        out.append(" ".join(words[start:start + size]))
        if start + size >= len(words):
            return out
        start += size - shared


def collect(names: list[str], *, chunks: bool = False) -> dict[str, list[Query]]:
    """Embed the sets' queries over the demo base and keep every signal of each candidate."""
    embedder = CachedQueries(make_embedder("e5-small-int4"))
    out: dict[str, list[Query]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = demo_knowledge(Path(tmp), embedder)
        with knowledge.session() as session:
            rows = session.execute(select(KnowledgeEntry.id, KnowledgeEntry.external_id,
                                          KnowledgeEntry.question, KnowledgeEntry.answer)).all()
            ids = [row[0] for row in rows]
            terms = embeddings.stored_terms(session=session, entry_ids=ids)
            vector_ids, vectors = embeddings.stored_vectors(
                session=session, model_id=embedder.model_id, dim=embedder.dim)
        row_of = {int(vector_id): row for row, vector_id in enumerate(vector_ids)}
        passages = vectors[[row_of[i] for i in ids]]
        questions = vectors[[row_of[embeddings.question_vector_id(i)] for i in ids]]
        analyzer = search.FrenchAnalyzer()
        heads = [analyzer.terms(f"{row[2]} {row[3][:300]}") for row in rows]
        documents = [terms.get(i) for i in ids]
        owners: list[int] = []
        texts: list[str] = []
        if chunks:
            for index, row in enumerate(rows):
                for window in windows(row[3]):
                    owners.append(index)
                    texts.append(embeddings.passage_text(row[2], window))
        chunk_vectors = (np.concatenate([embedder.embed_passages(texts[start:start + 32])
                                         for start in range(0, len(texts), 32)])
                         if texts else np.zeros((0, passages.shape[1]), dtype=np.float32))
        for name in names:
            queries = []
            for labelled in load_labelled_queries(path=DATA / name):
                expansion = knowledge.expand(labelled.text)
                text = search.dense_query(expansion)
                vector = embedder.embed_queries([text])[0]
                as_passage = embedder.inner.embed_passages([text])[0]
                by_passage, by_question = passages @ vector, questions @ vector
                pool = np.argsort(-np.maximum(by_passage, by_question))[:POOL]
                by_chunk = np.zeros(len(ids))
                np.maximum.at(by_chunk, np.array(owners, dtype=np.int64), chunk_vectors @ vector)
                concepts = search.lexical_concepts(expansion)
                corpus = np.array(search.concept_scores(concepts, documents))
                queries.append(Query(
                    relevant=set(labelled.relevant), external=[str(rows[j][1]) for j in pool],
                    passage=by_passage[pool], question=by_question[pool],
                    passage_sym=(passages @ as_passage)[pool],
                    question_sym=(questions @ as_passage)[pool],
                    lexical=np.array(search.concept_scores(concepts,
                                                           [documents[j] for j in pool])),
                    lexical_corpus=corpus[pool],
                    lexical_head=np.array(search.concept_scores(concepts,
                                                                [heads[j] for j in pool])),
                    chunk=by_chunk[pool]))
            out[name] = queries
        knowledge.close(save=False)
    return out


def measure(queries: list[Query], variant: Variant) -> tuple[float, float, float]:
    """Recall@1, Recall@5 and abstention AUC of a ranking variant."""
    hits1 = hits5 = answerable = 0
    positives: list[float] = []
    negatives: list[float] = []
    for query in queries:
        scores = variant(query)
        order = np.argsort(-scores, kind="stable")
        top = [query.external[j] for j in order[:5]]
        if query.relevant:
            answerable += 1
            hits1 += top[0] in query.relevant
            hits5 += bool(set(top) & query.relevant)
            positives.append(float(scores[order[0]]))
        else:
            negatives.append(float(scores[order[0]]))
    auc = separation_auc(positives=positives, negatives=negatives) or 0.0
    return hits1 / answerable, hits5 / answerable, auc


def dense(query: Query) -> Array:
    """The shipped dense score: an entry's best vector."""
    return np.maximum(query.passage, query.question)


def variants() -> dict[str, Variant]:
    """The shipped fusion and the alternatives tried."""
    table: dict[str, Variant] = {
        "livrée : 0,9 max(passage, question) + 0,1 lexical":
            lambda q: 0.9 * dense(q) + 0.1 * q.lexical,
        "sans lexical": dense,
    }
    for share in (0.3, 0.5, 0.7):
        table[f"moyenne question {share} / passage"] = _mixed(share)
    for extra in (0.2, 0.5):
        table[f"+ {extra} requête plongée comme passage"] = _symmetric(extra)
    for weight in (0.1, 0.15):
        table[f"lexical idf sur toute la base, poids {weight}"] = _corpus_lexical(weight)
        table[f"lexical moyen (réponse entière + début), poids {weight}"] = _head_lexical(weight)
    for extra in (0.2, 0.5):
        table[f"+ {extra} meilleure fenêtre de la réponse (--chunks)"] = _windowed(extra)
    return table


def _mixed(share: float) -> Variant:
    return lambda q: 0.9 * (share * q.question + (1 - share) * q.passage) + 0.1 * q.lexical


def _symmetric(extra: float) -> Variant:
    return lambda q: (0.9 * (dense(q) + extra * np.maximum(q.passage_sym, q.question_sym))
                      / (1 + extra) + 0.1 * q.lexical)


def _corpus_lexical(weight: float) -> Variant:
    return lambda q: (1 - weight) * dense(q) + weight * q.lexical_corpus


def _head_lexical(weight: float) -> Variant:
    return lambda q: (1 - weight) * dense(q) + weight * (q.lexical + q.lexical_head) / 2


def _windowed(extra: float) -> Variant:
    return lambda q: 0.9 * (dense(q) + extra * q.chunk) / (1 + extra) + 0.1 * q.lexical


def features(query: Query) -> Array:
    """Signals of each candidate for the learnt ranker."""
    best = dense(query)
    return np.stack([query.passage, query.question, query.lexical, query.lexical_corpus,
                     query.lexical_head, query.passage_sym, query.question_sym,
                     best - best.max(), query.lexical - query.lexical.max()], axis=1)


def learnt_ranker_recall(queries: list[tuple[str, Query]], folds: int = 5
                         ) -> dict[str, float]:
    """Recall@1 per set of a pairwise logistic ranker over `features`, by cross-validation."""
    answerable = [(name, q) for name, q in queries if q.relevant]
    order = np.random.default_rng(0).permutation(len(answerable))
    right: dict[str, list[bool]] = {}
    for fold in np.array_split(order, folds):
        held = set(fold.tolist())
        pairs = []
        for index, (_, query) in enumerate(answerable):
            if index in held:
                continue
            x = features(query)
            label = np.array([e in query.relevant for e in query.external])
            top = np.argsort(-(0.9 * dense(query) + 0.1 * query.lexical))[:10]
            pairs += [x[a] - x[b] for a in top for b in top if label[a] and not label[b]]
        diffs = np.array(pairs)
        spread = diffs.std(0) + 1e-9  # scaled, not centred: the mean difference is the signal
        design = np.concatenate([diffs / spread, -diffs / spread])
        target = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
        weights = np.zeros(design.shape[1])
        for _ in range(500):  # plain gradient descent on the logistic loss, lightly regularised
            predicted = 1 / (1 + np.exp(-design @ weights))
            weights -= 0.5 * (design.T @ (predicted - target) / len(target) + 1e-3 * weights)
        for index in held:
            name, query = answerable[index]
            scores = features(query) / spread @ weights
            right.setdefault(name, []).append(query.external[int(np.argmax(scores))]
                                              in query.relevant)
    return {name: float(np.mean(values)) for name, values in right.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=["svp-devset.jsonl", "devset.jsonl"])
    parser.add_argument("--chunks", action="store_true",
                        help="also score entries by windows of their answer (slow)")
    args = parser.parse_args()
    collected = collect(args.sets, chunks=args.chunks)
    print("| variante | " + " | ".join(f"{name} R@1 / R@5 / AUC" for name in args.sets) + " |")
    print("| --- |" + " --- |" * len(args.sets))
    for label, variant in variants().items():
        if "--chunks" in label and not args.chunks:
            continue
        cells = [" / ".join(f"{value:.3f}" for value in measure(collected[name], variant))
                 for name in args.sets]
        print(f"| {label} | " + " | ".join(cells) + " |")
    learnt = learnt_ranker_recall([(name, q) for name in args.sets for q in collected[name]])
    print("| ordonnanceur appris (validation croisée en 5 plis, R@1 seul) | "
          + " | ".join(f"{learnt.get(name, 0.0):.3f}" for name in args.sets) + " |")


if __name__ == "__main__":
    main()
