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
    save_table,
    with_precomputed,
)
from svp.demo import PACKAGED_VECTORS, build_demo_vectors, demo_file


def test_known_passages_come_from_the_table_and_others_are_embedded() -> None:
    inner = FakeEmbedder()
    table = {passage_key("connu"): np.eye(1, inner.dim, dtype=np.float32)[0]}
    wrapped = PrecomputedPassages(inner, table)
    vectors = wrapped.embed_passages(["connu", "loyer impayé"])
    assert np.allclose(vectors[0], np.eye(1, inner.dim)[0])
    assert np.allclose(vectors[1], inner.embed_passages(["loyer impayé"])[0])
    assert wrapped.reused == 1


def test_table_of_another_model_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    inner = FakeEmbedder()
    save_table(path, model_id="autre-modele", texts=["a"], vectors=inner.embed_passages(["a"]))
    assert load_table(path, model_id=inner.model_id, dim=inner.dim) == {}
    assert with_precomputed(inner, path) is inner


def test_packaged_demo_vectors_equal_what_the_real_model_computes(
        tmp_path: Path, e5_embedder: Embedder) -> None:
    subset = tmp_path / "demo-subset.jsonl"
    lines = demo_file().read_text(encoding="utf-8").splitlines()[:3]
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fresh = tmp_path / "fresh.npz"
    assert build_demo_vectors(embedder=e5_embedder, workdir=tmp_path, out=fresh,
                              data_file=subset) == 3
    packaged = load_table(PACKAGED_VECTORS, model_id=e5_embedder.model_id, dim=e5_embedder.dim)
    assert len(packaged) == sum(1 for line in demo_file().open(encoding="utf-8")
                                if json.loads(line))
    for key, vector in load_table(fresh, model_id=e5_embedder.model_id,
                                  dim=e5_embedder.dim).items():
        assert np.allclose(packaged[key], vector, atol=1e-5)
