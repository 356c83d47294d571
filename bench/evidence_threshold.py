"""The evidence threshold under which a draft is not offered "as is", measured on labelled sets.

On the demo base with its shipped vectors, each labelled query is searched once; for the best
entry we keep its score, the score of its best passage, whether it is a right entry and
whether the passage shown holds the expected quote. For each candidate threshold on the best
passage's score, the table gives how many answerable queries would get "send as is"
preselected, how often that entry is right, how often the passage holds the quote, and how
many queries without an answer would get it.

    python bench/evidence_threshold.py [--sets svp-devset.jsonl ...] [--thresholds 0.80 0.82]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from benchlib import print_machine, print_table  # noqa: E402
from retrieval_quality import DATA, CachedQueries, demo_knowledge  # noqa: E402

from index.embedders import make_embedder  # noqa: E402
from knowledge.retrieval import passages  # noqa: E402
from knowledge.retrieval.evaluation import load_labelled_queries, shows_evidence  # noqa: E402
from knowledge.runtime import Knowledge  # noqa: E402

DEFAULT_SETS = ("svp-devset.jsonl", "svp-holdout.jsonl", "svp-holdout-2.jsonl",
                "svp-holdout-3.jsonl", "devset.jsonl", "devset-holdout.jsonl")


@dataclass(frozen=True)
class Outcome:
    """What the best suggestion of one query was worth."""

    answerable: bool
    entry_score: float
    passage_score: float | None
    right_entry: bool
    evidence: bool | None  # None: the query names no expected quote


def outcomes(knowledge: Knowledge, name: str) -> list[Outcome]:
    """Search each query of a set and keep what its best suggestion was worth."""
    found: list[Outcome] = []
    for query in load_labelled_queries(path=DATA / name):
        result = knowledge.similar(query.text, k=1, min_score=-1.0)
        if not result.hits:
            continue
        top = result.hits[0]
        shown = passages.suggestion_text(top.answer, top.passage)
        # A passage chosen for the entry's question is the answer's opening: no evidence.
        evidence_score = (None if top.passage is None or top.passage.from_question
                          else top.passage.score)
        found.append(Outcome(
            answerable=query.answerable, entry_score=float(top.score),
            passage_score=evidence_score,
            right_entry=top.external_id in query.relevant,
            evidence=None if not query.evidence else shows_evidence(query.evidence, shown)))
    return found


def rows_for(name: str, found: Sequence[Outcome], entry_threshold: float,
             thresholds: Sequence[float]) -> list[list[object]]:
    """One table row per evidence threshold (None: the entry threshold alone, today's rule)."""
    rows: list[list[object]] = []
    answerable = [item for item in found if item.answerable]
    unanswerable = [item for item in found if not item.answerable]
    for threshold in (None, *thresholds):
        def passes(item: Outcome, cut: float | None = threshold) -> bool:
            if item.entry_score < entry_threshold:
                return False
            return cut is None or (item.passage_score is not None and item.passage_score >= cut)
        chosen = [item for item in answerable if passes(item)]
        labelled = [item for item in chosen if item.evidence is not None]
        rows.append([
            name, "seuil fiche seul" if threshold is None else f"{threshold:.3f}",
            f"{len(chosen)}/{len(answerable)}",
            f"{sum(item.right_entry for item in chosen) / len(chosen):.3f}" if chosen else "—",
            (f"{sum(bool(item.evidence) for item in labelled) / len(labelled):.3f} "
             f"({len(labelled)})") if labelled else "—",
            f"{sum(passes(item) for item in unanswerable)}/{len(unanswerable)}",
        ])
    return rows


def main() -> None:
    """Print, per set, what each evidence threshold would preselect."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    parser.add_argument("--thresholds", nargs="+", type=float,
                        default=[0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.90])
    args = parser.parse_args()
    print_machine()
    embedder = CachedQueries(make_embedder("e5-small-int4"))
    with tempfile.TemporaryDirectory() as workdir:
        knowledge = demo_knowledge(Path(workdir), embedder)
        rows: list[list[object]] = []
        for name in args.sets:
            rows.extend(rows_for(name, outcomes(knowledge, name), knowledge.abstain_threshold,
                                 args.thresholds))
        print(f"seuil d'abstention (fiche) : {knowledge.abstain_threshold}")
        print_table(["jeu", "seuil passage", "« tel quel » proposé", "bonne fiche",
                     "passage contient la citation (n)", "sans réponse proposées"], rows)


if __name__ == "__main__":
    main()
