"""Evidence strength: answers, related or below the threshold."""

from __future__ import annotations

from knowledge.retrieval import evidence
from knowledge.retrieval.search import Passage, SearchHit


def _hit(score: float, passage_score: float | None, *, from_question: bool = False) -> SearchHit:
    passage = (None if passage_score is None else
               Passage(position=1, start=0, end=5, text="texte", score=passage_score,
                       from_question=from_question))
    return SearchHit(entry_id=1, external_id=None, question="Q ?", answer="texte", score=score,
                     theme=None, source=None, passage=passage)


def test_strength_follows_the_entry_and_passage_thresholds() -> None:
    def strength(hit: SearchHit) -> evidence.Strength:
        return evidence.strength(hit, threshold=0.81, evidence=0.84)
    assert strength(_hit(0.9, 0.85)) is evidence.Strength.ANSWERS
    assert strength(_hit(0.9, 0.83)) is evidence.Strength.RELATED
    # A question that matched best shows the answer's opening: that is no evidence.
    assert strength(_hit(0.9, 0.95, from_question=True)) is evidence.Strength.RELATED
    assert strength(_hit(0.9, None)) is evidence.Strength.RELATED
    assert strength(_hit(0.80, 0.99)) is evidence.Strength.BELOW


def test_the_measured_threshold_is_stricter_than_a_guess_for_an_unknown_model() -> None:
    assert evidence.evidence_threshold("e5-small-int4") == 0.84
    assert evidence.evidence_threshold("un-autre-modèle") == evidence.FALLBACK_EVIDENCE_THRESHOLD
    assert [evidence.LABELS[item] for item in evidence.Strength] == [
        "répond à la question", "en rapport", "sous le seuil"]
