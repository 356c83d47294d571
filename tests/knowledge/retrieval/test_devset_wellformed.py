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


@pytest.mark.parametrize("name", ["devset.jsonl", "devset-holdout.jsonl"])
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
