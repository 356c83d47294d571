from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fakes import FakeEmbedder

from index.embedders import Embedder
from index.precomputed import (
    PrecomputedPassages,
    load_table,
    passage_key,
    query_key,
    save_table,
    with_precomputed,
)
from knowledge.retrieval import passages
from knowledge.retrieval.embeddings import passage_text
from svp.demo import PACKAGED_VECTORS, build_demo_vectors, demo_file


def test_known_passages_come_from_the_table_and_others_are_embedded() -> None:
    inner = FakeEmbedder()
    table = {passage_key("connu"): np.eye(1, inner.dim, dtype=np.float32)[0]}
    wrapped = PrecomputedPassages(inner, table)
    vectors = wrapped.embed_passages(["connu", "loyer impayé"])
    assert np.allclose(vectors[0], np.eye(1, inner.dim)[0])
    assert np.allclose(vectors[1], inner.embed_passages(["loyer impayé"])[0])
    assert wrapped.reused == 1


def test_known_queries_come_from_the_table_apart_from_passages() -> None:
    inner = FakeEmbedder()
    stored = np.eye(1, inner.dim, dtype=np.float32)[0]
    wrapped = PrecomputedPassages(inner, {query_key("connu"): stored})
    assert np.allclose(wrapped.embed_queries(["connu"])[0], stored)
    assert inner.calls == []
    # The same text as a passage is another vector: embedded, not taken from the query's.
    assert np.allclose(wrapped.embed_passages(["connu"])[0], FakeEmbedder().embed_passages(
        ["connu"])[0])
    assert inner.calls == [("passage", 1)]


def test_table_of_another_model_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    inner = FakeEmbedder()
    save_table(path, model_id="autre-modele", texts=["a"], vectors=inner.embed_passages(["a"]))
    assert load_table(path, model_id=inner.model_id, dim=inner.dim) == {}
    assert with_precomputed(inner, path) is inner


def test_packaged_demo_vectors_equal_what_the_real_model_computes(
        tmp_path: Path, e5_model: Embedder) -> None:
    subset = tmp_path / "demo-subset.jsonl"
    lines = demo_file().read_text(encoding="utf-8").splitlines()[:3]
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fresh = tmp_path / "fresh.npz"
    rows = [json.loads(line) for line in demo_file().open(encoding="utf-8") if line.strip()]
    cut = [passages.passage_texts(row["question"], row["answer"])[1] for row in rows]
    # Each entry's text, then each of its passages (its question first).
    assert build_demo_vectors(embedder=e5_model, workdir=tmp_path, out=fresh,
                              data_file=subset) == 3 + sum(len(texts) for texts in cut[:3])
    packaged = load_table(PACKAGED_VECTORS, model_id=e5_model.model_id, dim=e5_model.dim)
    # Each entry's text, its question (embedded as a query) and its passages: nothing left to
    # embed when the demo is imported.
    for row, texts in zip(rows, cut, strict=True):
        assert passage_key(passage_text(row["question"], row["answer"])) in packaged
        assert query_key(row["question"].strip()) in packaged
        assert all(passage_key(text) in packaged for text in texts)
    made = load_table(fresh, model_id=e5_model.model_id, dim=e5_model.dim)
    assert len(made) == len({passage_key(text) for texts in cut[:3] for text in texts}) + 6
    for key, vector in made.items():
        # The 4-bit kernels round differently from one CPU to another (AVX2, AVX-512, AMX):
        # up to 1.2e-3 per coordinate, a cosine of 0.99998; a stale or wrong vector is far off.
        assert float(packaged[key] @ vector) > 0.9999
