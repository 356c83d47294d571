"""The fused score: cosine, lexical signal over the whole entry, lexical signal on its question."""

from __future__ import annotations

import pytest

from knowledge.retrieval import search


def test_question_signal_is_ignored_when_its_weight_is_zero(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "QUESTION_LEXICAL_WEIGHT", 0.0)
    assert search.fuse(0.8, 0.5, question_lexical=1.0) == search.fuse(0.8, 0.5)


def test_question_signal_separates_entries_with_the_same_cosine_and_body_match(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "QUESTION_LEXICAL_WEIGHT", 0.05)
    named = search.fuse(0.8, 0.5, question_lexical=1.0)
    mentioned = search.fuse(0.8, 0.5, question_lexical=0.0)
    assert named > mentioned
    # Weights still sum to one: a perfect match on every signal scores 1.
    assert search.fuse(1.0, 1.0, question_lexical=1.0) == pytest.approx(1.0)
