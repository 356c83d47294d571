"""The ranking settings (search.Ranking): each one changes the path it names, bad values refused."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import HOUSING_ENTRIES
from sqlalchemy import delete

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.errors import InvalidInput
from knowledge.retrieval import embeddings, glossary, phrasings, search
from knowledge.retrieval.search import Ranking
from knowledge.runtime import Knowledge
from knowledge.store.vocabulary import GlossaryTerm
from svp import runtime
from svp.settings import Settings, SettingsError, load_settings

# The question of entry E1 word for word: its question vector matches far better than its
# passage (question + long answer).
E1_QUESTION = HOUSING_ENTRIES[1][0]


@pytest.fixture
def populated(knowledge: Knowledge) -> Knowledge:
    with knowledge.session() as session:
        for index, (question, answer) in enumerate(HOUSING_ENTRIES):
            entries.create(session=session, actor="test", embedder=knowledge.embedder,
                           content=EntryFields(question=question, answer=answer,
                                               external_id=f"E{index}", theme="Logement"))
    return knowledge


def hit_scores(knowledge: Knowledge, text: str, ranking: Ranking, k: int = 5) -> dict[str, float]:
    knowledge.ranking = ranking
    return {str(hit.external_id): hit.score
            for hit in knowledge.similar(text, k=k, min_score=-1.0, passages=False).hits}


def entry_id_of(knowledge: Knowledge, external_id: str) -> int:
    with knowledge.reading() as session:
        entry = entries.get_by_external_id(session=session, external_id=external_id)
        assert entry is not None
        return entry.id


def cosines(knowledge: Knowledge, external_id: str, text: str) -> tuple[float, float]:
    """Cosine of the query (as the search embeds it) with an entry's passage and question."""
    entry_id = entry_id_of(knowledge, external_id)
    query = knowledge.embedder.embed_queries([search.dense_query(knowledge.expand(text))])[0]
    stored = knowledge._index().vectors([entry_id, embeddings.question_vector_id(entry_id)])
    passage, question = (stored @ query).tolist()
    return float(passage), float(question)


@pytest.mark.parametrize(("changes", "setting"), [
    ({"question_vectors": "moyenne"}, "SVP_SEARCH_QUESTION_VECTORS"),
    ({"glossary": "oui"}, "SVP_SEARCH_GLOSSARY"),
    ({"question_weight": 1.5}, "SVP_SEARCH_QUESTION_WEIGHT"),
    ({"lexical_weight": -0.1}, "SVP_SEARCH_LEXICAL_WEIGHT"),
    ({"lexical_weight": float("nan")}, "SVP_SEARCH_LEXICAL_WEIGHT"),
    ({"lexical_weight": 0.6, "question_lexical_weight": 0.4}, "SVP_SEARCH_LEXICAL_WEIGHT"),
    ({"rerank_pool": 0}, "SVP_SEARCH_RERANK_POOL"),
    ({"rerank_pool": 100_000}, "SVP_SEARCH_RERANK_POOL"),
])
def test_bad_ranking_values_are_refused_with_one_french_line(changes: dict[str, Any],
                                                              setting: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Ranking(**changes)
    message = str(refused.value)
    assert setting in message and "invalide" in message
    assert "\n" not in message


def test_dense_score_combines_passage_and_question_as_named() -> None:
    assert Ranking(question_vectors="max").dense_score(0.80, 0.90) == 0.90
    assert Ranking(question_vectors="off").dense_score(0.80, 0.90) == 0.80
    weighted = Ranking(question_vectors="weighted", question_weight=0.7)
    assert weighted.dense_score(0.80, 0.90) == pytest.approx(0.7 * 0.90 + 0.3 * 0.80)
    # An entry without a question vector (older base, not yet re-embedded) keeps its passage.
    assert weighted.dense_score(0.80, None) == 0.80


def test_question_vector_settings_change_the_dense_score_of_an_entry(
        populated: Knowledge) -> None:
    passage, question = cosines(populated, "E1", E1_QUESTION)
    assert question > passage + 0.02  # the query is the entry's own question
    no_lexical = Ranking(question_vectors="max", lexical_weight=0.0)
    assert hit_scores(populated, E1_QUESTION, no_lexical)["E1"] == pytest.approx(
        question, abs=1e-5)
    off = Ranking(question_vectors="off", lexical_weight=0.0)
    assert hit_scores(populated, E1_QUESTION, off)["E1"] == pytest.approx(passage, abs=1e-5)
    weighted = Ranking(question_vectors="weighted", question_weight=0.7, lexical_weight=0.0)
    assert hit_scores(populated, E1_QUESTION, weighted)["E1"] == pytest.approx(
        0.7 * question + 0.3 * passage, abs=1e-5)


def test_lexical_weight_sets_the_share_of_the_lexical_signal(populated: Knowledge) -> None:
    dense_only = hit_scores(populated, "SLS surloyer calcul", Ranking(lexical_weight=0.0))
    fused = hit_scores(populated, "SLS surloyer calcul", Ranking(lexical_weight=0.3))
    assert set(fused) == set(dense_only)
    # The entry that names the SLS matches the words: the lexical share lifts it above the rest.
    gains = {key: fused[key] - dense_only[key] for key in fused}
    assert max(gains, key=gains.__getitem__) == "E3"


def test_rerank_pool_bounds_the_candidates_given_the_lexical_signal(
        populated: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    real = search.concept_scores

    def counting(concepts: Any, documents: Any, **options: Any) -> list[float]:
        sizes.append(len(documents))
        return real(concepts, documents, **options)

    monkeypatch.setattr(search, "concept_scores", counting)
    hit_scores(populated, "préavis", Ranking(rerank_pool=50), k=1)
    hit_scores(populated, "préavis", Ranking(rerank_pool=1), k=1)
    # 7 entries: all of them with a pool of 50; k + the margin (6) with a pool of 1.
    assert sizes == [len(HOUSING_ENTRIES), 1 + search.CANDIDATE_MARGIN]


def test_glossary_setting_chooses_where_the_equivalents_act(populated: Knowledge) -> None:
    query = "surloyer : nos locataires doivent-ils le payer ?"
    with populated.session() as session:
        session.execute(delete(GlossaryTerm))
    without = hit_scores(populated, query, Ranking())
    with populated.session() as session:
        glossary.create_term(session=session, actor="test", record=glossary.checked(
            term="surloyer", synonyms=["supplément de loyer de solidarité", "SLS"]))
    expansion = populated.expand(query)
    expanded = f"{query} (supplément de loyer de solidarité)"
    assert search.dense_query(expansion, Ranking(glossary="on")) == expanded
    assert search.dense_query(expansion, Ranking(glossary="dense")) == expanded
    assert search.dense_query(expansion, Ranking(glossary="lexical")) == query
    assert search.dense_query(expansion, Ranking(glossary="off")) == query
    assert any(len(concept) > 1 for concept in search.lexical_concepts(expansion, Ranking()))
    assert all(len(concept) == 1
               for concept in search.lexical_concepts(expansion, Ranking(glossary="dense")))
    # Off, the glossary changes nothing: the same scores as with no glossary at all.
    assert hit_scores(populated, query, Ranking(glossary="off")) == without
    assert hit_scores(populated, query, Ranking())["E3"] > without["E3"]


def test_settings_flow_into_the_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVP_SEARCH_QUESTION_VECTORS", "weighted")
    monkeypatch.setenv("SVP_SEARCH_QUESTION_WEIGHT", "0.4")
    monkeypatch.setenv("SVP_SEARCH_GLOSSARY", "lexical")
    monkeypatch.setenv("SVP_SEARCH_LEXICAL_WEIGHT", "0.15")
    monkeypatch.setenv("SVP_SEARCH_RERANK_POOL", "80")
    assert runtime.ranking(load_settings()) == Ranking(
        question_vectors="weighted", question_weight=0.4, glossary="lexical",
        lexical_weight=0.15, rerank_pool=80)


def test_default_settings_give_the_shipped_ranking() -> None:
    assert runtime.ranking(Settings(_env_file=None)) == Ranking()  # type: ignore[call-arg]


@pytest.mark.parametrize(("name", "value"), [
    ("SVP_SEARCH_RERANK_POOL", "cinquante"),
    ("SVP_SEARCH_LEXICAL_WEIGHT", "0,1"),
])
def test_unreadable_setting_is_one_french_line_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                         name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert name in message and value in message and "\n" not in message


def test_out_of_range_setting_is_refused_when_the_knowledge_base_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVP_SEARCH_QUESTION_VECTORS", "moyenne")
    with pytest.raises(InvalidInput, match="SVP_SEARCH_QUESTION_VECTORS"):
        runtime.build_knowledge(load_settings())


def test_weighted_ranking_keeps_learnt_phrasings_by_their_own_vector(
        populated: Knowledge) -> None:
    wording = "parabole satellite sur la terrasse de notre locataire"
    target = entry_id_of(populated, "E4")
    with populated.session() as session:
        phrasing = phrasings.add_phrasing(session=session, entry_id=target, text=wording,
                                          actor="test", embedder=populated.embedder)
        assert phrasing is not None
        phrasing_id = phrasing.id
    weighted = Ranking(question_vectors="weighted", question_weight=0.5, lexical_weight=0.0)
    passage, question = cosines(populated, "E4", wording)
    query = populated.embedder.embed_queries([search.dense_query(populated.expand(wording))])[0]
    learnt = float(populated._index().vectors(
        [embeddings.phrasing_vector_id(target, phrasing_id)])[0] @ query)
    assert learnt > 0.5 * question + 0.5 * passage  # the asker's own words, learnt
    assert hit_scores(populated, wording, weighted)["E4"] == pytest.approx(learnt, abs=1e-5)
