"""Evaluation metrics on hand-made rankings, and the labelled-set loader."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from knowledge.errors import InvalidInput
from knowledge.retrieval.evaluation import (
    LabelledQuery,
    RankedQuery,
    abstention_auc,
    best_threshold,
    decision_quality,
    load_labelled_queries,
    mean_reciprocal_rank,
    parse_labelled_queries,
    recall_at,
    separation_auc,
    summarise,
)


def ranked(relevant: list[str], ranking: list[str], scores: list[float]) -> RankedQuery:
    """A ranked query built by hand (query text derived from its ranking)."""
    query = LabelledQuery(text=" ".join(ranking) or "vide", relevant=frozenset(relevant))
    return RankedQuery(query=query, ranking=tuple(ranking), scores=tuple(scores))


RANKINGS = [
    ranked(["A"], ["A", "B", "C"], [0.9, 0.8, 0.7]),           # found first
    ranked(["B"], ["A", "B", "C"], [0.8, 0.7, 0.6]),           # found second
    ranked(["Z", "C"], ["A", "B", "C"], [0.7, 0.6, 0.5]),      # found third
    ranked(["Z"], ["A", "B", "C"], [0.6, 0.5, 0.4]),           # not found
    ranked([], ["A", "B", "C"], [0.5, 0.4, 0.3]),              # should abstain
]


def test_recall_counts_answerable_queries_with_a_relevant_hit_within_k() -> None:
    assert recall_at(ranked=RANKINGS, k=1) == pytest.approx(1 / 4)
    assert recall_at(ranked=RANKINGS, k=2) == pytest.approx(2 / 4)
    assert recall_at(ranked=RANKINGS, k=5) == pytest.approx(3 / 4)


def test_mrr_averages_reciprocal_rank_of_first_relevant_hit() -> None:
    assert mean_reciprocal_rank(ranked=RANKINGS) == pytest.approx((1 + 1 / 2 + 1 / 3 + 0) / 4)


def test_mrr_ignores_relevant_hits_beyond_the_cutoff() -> None:
    assert mean_reciprocal_rank(ranked=RANKINGS, k=2) == pytest.approx((1 + 1 / 2) / 4)


def test_ranking_metrics_are_zero_without_answerable_queries() -> None:
    only_abstain = [ranked([], ["A"], [0.3])]
    assert recall_at(ranked=only_abstain, k=5) == 0.0
    assert mean_reciprocal_rank(ranked=only_abstain) == 0.0


def test_perfect_separation_gives_auc_one_and_reversed_gives_zero() -> None:
    assert separation_auc(positives=[0.9, 0.8], negatives=[0.1, 0.2]) == 1.0
    assert separation_auc(positives=[0.1, 0.2], negatives=[0.9, 0.8]) == 0.0


def test_auc_matches_a_pairwise_count_by_hand() -> None:
    # pairs (p > n): 0.8>0.3, 0.8>0.6, 0.4>0.3 -> 3 of 4
    assert separation_auc(positives=[0.8, 0.4], negatives=[0.3, 0.6]) == pytest.approx(0.75)


def test_auc_counts_ties_as_one_half() -> None:
    assert separation_auc(positives=[0.5], negatives=[0.5]) == pytest.approx(0.5)
    # 0.5 vs (0.5 tie, 0.4 win) and 0.7 vs (two wins): (0.5 + 1 + 1 + 1) / 4
    assert separation_auc(positives=[0.5, 0.7], negatives=[0.5, 0.4]) == pytest.approx(0.875)


def test_auc_is_undefined_when_a_side_is_empty() -> None:
    assert separation_auc(positives=[0.9], negatives=[]) is None
    assert separation_auc(positives=[], negatives=[0.1]) is None
    assert abstention_auc(ranked=[item for item in RANKINGS if item.query.answerable]) is None


def test_abstention_auc_uses_top_scores() -> None:
    # answerable top scores 0.9, 0.8, 0.7, 0.6 all beat the unanswerable 0.5
    assert abstention_auc(ranked=RANKINGS) == 1.0


def test_decision_counts_wrong_top_hits_against_precision() -> None:
    quality = decision_quality(ranked=RANKINGS, threshold=0.55)
    # answered: 4 queries (0.9, 0.8, 0.7, 0.6); only the first has a relevant top hit
    assert quality.precision == pytest.approx(1 / 4)
    assert quality.recall == pytest.approx(1 / 4)


def test_decision_that_answers_nothing_has_zero_scores() -> None:
    quality = decision_quality(ranked=RANKINGS, threshold=2.0)
    assert (quality.precision, quality.recall, quality.f1) == (0.0, 0.0, 0.0)


def test_best_threshold_cuts_between_good_answers_and_the_rest() -> None:
    data = [
        ranked(["A"], ["A"], [0.9]),
        ranked(["B"], ["B"], [0.85]),
        ranked(["C"], ["X"], [0.6]),    # wrong top hit
        ranked([], ["Y"], [0.5]),       # should abstain
    ]
    best = best_threshold(ranked=data)
    assert best is not None
    assert best.f1 == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert best.threshold == pytest.approx((0.85 + 0.6) / 2)
    assert best.precision == 1.0


def test_best_threshold_accepts_a_false_answer_when_recall_gains_more() -> None:
    data = [ranked(["A"], ["A"], [0.9]), ranked([], ["Y"], [0.8]), ranked(["B"], ["B"], [0.7])]
    # cut at 0.9: P=1, R=1/2, F1=2/3; cut at 0.7: P=2/3, R=1, F1=0.8 -> best is 0.7
    best = best_threshold(ranked=data)
    assert best is not None
    assert best.threshold == pytest.approx(0.7)
    assert best.f1 == pytest.approx(0.8)


def test_best_threshold_prefers_the_highest_cut_among_equal_f1() -> None:
    data = [ranked(["A"], ["A"], [0.9]), ranked([], ["Y"], [0.8]), ranked([], ["Z"], [0.75]),
            ranked(["B"], ["B"], [0.7])]
    # cut at 0.9: F1 = 2/3; cut at 0.7: P=1/2, R=1, F1 = 2/3 as well -> the higher cut wins
    best = best_threshold(ranked=data)
    assert best is not None
    assert best.f1 == pytest.approx(2 / 3)
    assert best.threshold == pytest.approx((0.9 + 0.8) / 2)


def test_best_threshold_is_none_without_any_hit() -> None:
    assert best_threshold(ranked=[ranked(["A"], [], [])]) is None


def test_query_with_no_hits_has_minus_infinity_top_score() -> None:
    assert ranked(["A"], [], []).top_score == -math.inf


def test_summary_reports_counts_and_configured_threshold() -> None:
    report = summarise(ranked=RANKINGS, k=5, configured_threshold=0.75)
    assert (report.n, report.n_answerable, report.n_unanswerable) == (5, 4, 1)
    assert report.recall_at_5 == pytest.approx(3 / 4)
    assert report.configured is not None
    assert report.configured.precision == pytest.approx(1 / 2)   # answered 0.9 (ok), 0.8 (wrong)


def test_loader_reads_answerable_and_abstaining_queries(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"q": "treve hivernale", "rel": ["F34736"]}\n\n'
                    '{"q": "météo demain", "rel": []}\n', encoding="utf-8")
    queries = load_labelled_queries(path=path)
    assert [query.text for query in queries] == ["treve hivernale", "météo demain"]
    assert [query.answerable for query in queries] == [True, False]
    assert queries[1].line == 3


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"q": "a", "rel": []}\n{"q": "b", "rel": [}\n', "ligne 2 : JSON invalide"),
        ('["a"]\n', "ligne 1 : un objet JSON est attendu"),
        ('{"rel": []}\n', "ligne 1 : le champ « q »"),
        ('{"q": "  ", "rel": []}\n', "ligne 1 : le champ « q »"),
        ('{"q": "a"}\n', "ligne 1 : le champ « rel »"),
        ('{"q": "a", "rel": "F1"}\n', "ligne 1 : le champ « rel »"),
        ('{"q": "a", "rel": [1]}\n', "ligne 1 : « rel » ne doit contenir"),
        ('{"q": "a", "rel": []}\n{"q": "A", "rel": []}\n', "ligne 2 : requête en double"),
        ("\n\n", "aucune requête"),
    ],
)
def test_bad_lines_are_rejected_with_line_number_and_reason(content: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_labelled_queries(lines=content.splitlines())


def test_missing_file_is_reported_in_french(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="fichier introuvable"):
        load_labelled_queries(path=tmp_path / "absent.jsonl")


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mauvais.jsonl"
    path.write_text("pas du json\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"mauvais\.jsonl, ligne 1"):
        load_labelled_queries(path=path)
