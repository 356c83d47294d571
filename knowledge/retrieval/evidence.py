"""How strongly a suggestion answers a question: the entry's score and its best passage's.

An entry above the abstention threshold is related to the question; it *answers* it when its
best passage also clears the stricter evidence threshold, measured per model on the labelled
sets (`bench/evidence_threshold.py`, docs/evaluation.md). Only then may a desk offer to send
the entry as is.
"""

from __future__ import annotations

from enum import StrEnum

from knowledge.retrieval.search import SearchHit

# Measured on the labelled sets with the shipped ranking (issue 27, docs/evaluation.md): at
# 0.84 on the best passage no query without an answer gets « send as is » on any of the seven
# sets (7 of 18 on holdout 4 with the entry's threshold alone), right entry 0.889-1.000 for
# those that do (svp-devset: 50 of 162, right entry 0.920).
EVIDENCE_THRESHOLDS: dict[str, float] = {
    "e5-small-int4": 0.84,
}
# A model never measured: cautious, so that "send as is" is rarely offered.
FALLBACK_EVIDENCE_THRESHOLD = 0.9


class Strength(StrEnum):
    """How a suggested entry stands against the question."""

    ANSWERS = "answers"
    RELATED = "related"
    BELOW = "below"


LABELS = {
    Strength.ANSWERS: "répond à la question",
    Strength.RELATED: "en rapport",
    Strength.BELOW: "sous le seuil",
}


def evidence_threshold(model_id: str) -> float:
    """Return the measured evidence threshold of a model (a cautious fallback otherwise)."""
    return EVIDENCE_THRESHOLDS.get(model_id, FALLBACK_EVIDENCE_THRESHOLD)


def passage_score(hit: SearchHit) -> float | None:
    """The score of the passage that shows evidence; None when only the question matched."""
    if hit.passage is None or hit.passage.from_question:
        return None
    return hit.passage.score


def strength(hit: SearchHit, *, threshold: float, evidence: float) -> Strength:
    """Say whether an entry answers the question, is related to it, or falls below."""
    if hit.score < threshold:
        return Strength.BELOW
    score = passage_score(hit)
    return Strength.ANSWERS if score is not None and score >= evidence else Strength.RELATED
