"""The development sets are well formed and refer only to entries of the demo knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.retrieval.evaluation import load_labelled_queries

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def demo_ids(demo_data: Path) -> set[str]:
    with demo_data.open(encoding="utf-8") as lines:
        return {json.loads(line)["id"] for line in lines if line.strip()}


@pytest.mark.parametrize("name", ["devset.jsonl", "devset-holdout.jsonl", "svp-devset.jsonl",
                                  "svp-holdout.jsonl", "svp-holdout-2.jsonl"])
def test_every_relevant_id_exists_in_the_demo_base(name: str, demo_ids: set[str]) -> None:
    queries = load_labelled_queries(path=DATA / name)
    unknown = {item for query in queries for item in query.relevant} - demo_ids
    assert not unknown


def test_devset_has_enough_answerable_and_abstaining_queries() -> None:
    queries = load_labelled_queries(path=DATA / "devset.jsonl")
    answerable = [query for query in queries if query.answerable]
    assert len(answerable) >= 100
    assert len(queries) - len(answerable) >= 20
    assert len({item for query in answerable for item in query.relevant}) >= 80


def test_holdout_has_both_kinds_of_queries() -> None:
    queries = load_labelled_queries(path=DATA / "devset-holdout.jsonl")
    assert len(queries) >= 30
    assert any(query.answerable for query in queries)
    assert any(not query.answerable for query in queries)


def test_holdout_does_not_repeat_devset_queries() -> None:
    dev = {query.text.casefold() for query in load_labelled_queries(path=DATA / "devset.jsonl")}
    holdout = load_labelled_queries(path=DATA / "devset-holdout.jsonl")
    assert not [query.text for query in holdout if query.text.casefold() in dev]


@pytest.mark.parametrize("name", ["svp-devset.jsonl", "svp-holdout.jsonl"])
def test_svp_sets_refer_only_to_demo_entries(name: str, demo_ids: set[str]) -> None:
    queries = load_labelled_queries(path=DATA / name)
    assert not {item for query in queries for item in query.relevant} - demo_ids


def test_svp_sets_have_the_sizes_the_issue_asks_for() -> None:
    dev = load_labelled_queries(path=DATA / "svp-devset.jsonl")
    holdout = load_labelled_queries(path=DATA / "svp-holdout.jsonl")
    assert sum(query.answerable for query in dev) >= 150
    assert sum(not query.answerable for query in dev) >= 30
    assert len(holdout) >= 60
    assert any(not query.answerable for query in holdout)


def test_svp_holdout_does_not_repeat_development_queries() -> None:
    seen = {query.text.casefold()
            for name in ("svp-devset.jsonl", "devset.jsonl", "devset-holdout.jsonl")
            for query in load_labelled_queries(path=DATA / name)}
    holdout = load_labelled_queries(path=DATA / "svp-holdout.jsonl")
    assert not [query.text for query in holdout if query.text.casefold() in seen]


def test_second_svp_holdout_has_enough_of_both_kinds() -> None:
    queries = load_labelled_queries(path=DATA / "svp-holdout-2.jsonl")
    answerable = [query for query in queries if query.answerable]
    assert len(answerable) >= 60
    assert len(queries) - len(answerable) >= 15
