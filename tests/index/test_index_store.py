"""The FAISS vector store: search, mutations, atomic persistence and damage detection."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from index.store import (
    INDEX_FILE,
    MANIFEST_FILE,
    IndexMissing,
    IndexUnusable,
    VectorStore,
    read_manifest,
)

DIM = 16


def unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def store() -> VectorStore:
    vectors = unit(np.random.default_rng(7), 50)
    store = VectorStore(model_id="m1", dim=DIM, epoch="db1", watermark=3)
    store.upsert(np.arange(100, 150), vectors)
    return store


def test_search_returns_the_closest_ids_best_first(store: VectorStore) -> None:
    target = store.vectors([123])[0]
    scores, ids = store.search(target[None, :], 5)
    assert ids[0][0] == 123
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores[0]) == sorted(scores[0], reverse=True)


def test_upsert_replaces_the_vector_of_an_id(store: VectorStore) -> None:
    replacement = unit(np.random.default_rng(1), 1)
    store.upsert([123], replacement)
    assert len(store) == 50
    np.testing.assert_allclose(store.vectors([123]), replacement, atol=1e-6)
    _, ids = store.search(replacement, 1)
    assert ids[0][0] == 123


def test_removed_ids_are_never_found_again(store: VectorStore) -> None:
    target = store.vectors([123])
    store.remove([123, 999])
    assert len(store) == 49
    _, ids = store.search(target, 50)
    assert 123 not in ids[0]


def test_search_on_an_empty_store_finds_nothing() -> None:
    empty = VectorStore(model_id="m1", dim=DIM)
    _scores, ids = empty.search(np.ones((1, DIM), dtype=np.float32), 3)
    assert (ids == -1).all()


def test_saved_index_loads_back_identical(store: VectorStore, tmp_path: Path) -> None:
    manifest = store.save(tmp_path)
    assert manifest.count == 50 and manifest.watermark == 3 and manifest.model_id == "m1"
    loaded = VectorStore.load(tmp_path, model_id="m1", dim=DIM)
    assert loaded.watermark == 3 and loaded.epoch == "db1"
    assert sorted(loaded.ids()) == list(range(100, 150))
    np.testing.assert_array_equal(loaded.vectors([100, 149]), store.vectors([100, 149]))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_truncated_index_file_is_detected(store: VectorStore, tmp_path: Path) -> None:
    store.save(tmp_path)
    path = tmp_path / INDEX_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexUnusable, match="endommagé"):
        VectorStore.load(tmp_path, model_id="m1", dim=DIM)


def test_corrupted_index_file_is_detected(store: VectorStore, tmp_path: Path) -> None:
    store.save(tmp_path)
    path = tmp_path / INDEX_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexUnusable, match="endommagé"):
        VectorStore.load(tmp_path, model_id="m1", dim=DIM)


def test_index_of_another_model_is_refused(store: VectorStore, tmp_path: Path) -> None:
    store.save(tmp_path)
    with pytest.raises(IndexUnusable, match="m1"):
        VectorStore.load(tmp_path, model_id="m2", dim=DIM)
    with pytest.raises(IndexUnusable, match="dimension"):
        VectorStore.load(tmp_path, model_id="m1", dim=DIM * 2)


def test_manifest_that_lies_about_the_count_is_refused(store: VectorStore,
                                                       tmp_path: Path) -> None:
    store.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    manifest["count"] = 51
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(IndexUnusable, match="51"):
        VectorStore.load(tmp_path, model_id="m1", dim=DIM)


def test_missing_or_unreadable_manifest_is_refused(store: VectorStore, tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="aucun index"):
        VectorStore.load(tmp_path, model_id="m1", dim=DIM)
    store.save(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(IndexUnusable, match="manifeste") as unreadable:
        read_manifest(tmp_path)
    # Only a missing index is a normal first start; an unreadable one is a warning.
    assert not isinstance(unreadable.value, IndexMissing)


def test_watermark_only_moves_forward(store: VectorStore) -> None:
    store.apply(watermark=10)
    store.apply(watermark=5)
    assert store.watermark == 10


def test_concurrent_searches_during_mutations_see_whole_states() -> None:
    rng = np.random.default_rng(3)
    store = VectorStore(model_id="m1", dim=DIM)
    base = unit(rng, 200)
    store.upsert(np.arange(200), base)
    probe = base[:1]
    errors: list[str] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            _scores, ids = store.search(probe, 10)
            found = [int(i) for i in ids[0] if i >= 0]
            # Id 0 is always present with the probe's own vector (score 1): the best hit.
            if not found or found[0] != 0 or len(set(found)) != len(found):
                errors.append(f"inconsistent result {found}")

    def mutate() -> None:
        for round_ in range(200):
            ids = np.arange(1000 + round_ * 5, 1005 + round_ * 5)
            store.upsert(ids, unit(rng, 5))
            store.remove(ids[:3])

    readers = [threading.Thread(target=search) for _ in range(4)]
    for reader in readers:
        reader.start()
    mutate()
    stop.set()
    for reader in readers:
        reader.join()
    assert not errors
    assert len(store) == 200 + 200 * 2
