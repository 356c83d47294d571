"""Phrasings learnt from validated answers: real e5 embedder, real FAISS, the demo base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from index.precomputed import with_precomputed
from knowledge.catalog import entries, importing
from knowledge.errors import InvalidInput, NotFound
from knowledge.retrieval import embeddings, phrasings
from knowledge.runtime import Knowledge
from knowledge.store.models import KnowledgeEntry

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "knowledge" / "data" / "demo-kb.jsonl"
VECTORS = ROOT / "knowledge" / "data" / "demo-kb.e5-small-int4.npz"

# The asker's words, kept when an adviser answered from F31527 (objects at one's windows)...
LEARNT = "Un locataire peut-il installer une antenne parabolique sur son balcon ?"
# ...and a later question that says the same thing in other words.
PARAPHRASE = "poser une parabole satellite sur sa terrasse"


@pytest.fixture(scope="module")
def demo_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A third of the demo base (and F31527), enough distractors for a quicker test."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    kept = [line for number, line in enumerate(lines)
            if number % 3 == 0 or '"id": "F31527"' in line]
    path = tmp_path_factory.mktemp("demo") / "subset.jsonl"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def demo(knowledge: Knowledge, demo_subset: Path) -> Knowledge:
    """Demo entries imported with their shipped vectors: nothing re-embedded."""
    with knowledge.session() as session:
        importing.import_file(session=session, path=demo_subset, actor="test",
                              embedder=with_precomputed(knowledge.embedder, VECTORS))
    return knowledge


def entry_id(knowledge: Knowledge, external_id: str) -> int:
    with knowledge.session() as session:
        return session.scalars(select(KnowledgeEntry.id)
                               .where(KnowledgeEntry.external_id == external_id)).one()


def top(knowledge: Knowledge, text: str) -> tuple[str | None, float]:
    hits = knowledge.similar(text, k=5, min_score=-1.0).hits
    return hits[0].external_id, hits[0].score


def learn(knowledge: Knowledge, external_id: str, text: str) -> int:
    with knowledge.session() as session:
        added = phrasings.add_phrasing(session=session, entry_id=entry_id(knowledge, external_id),
                                       text=text, actor="test", embedder=knowledge.embedder)
        assert added is not None
        return added.id


def test_a_learnt_phrasing_makes_a_later_paraphrase_find_its_entry(demo: Knowledge) -> None:
    assert top(demo, PARAPHRASE)[0] != "F31527"
    learn(demo, "F31527", LEARNT)
    found, score = top(demo, PARAPHRASE)
    assert found == "F31527"
    # Suggested, not only ranked: the score clears the calibrated threshold.
    assert score >= demo.abstain_threshold
    assert not demo.similar(PARAPHRASE).abstained


def test_removing_the_phrasing_removes_its_effect(demo: Knowledge) -> None:
    before = demo.similar(PARAPHRASE, k=5, min_score=-1.0).hits
    phrasing_id = learn(demo, "F31527", LEARNT)
    assert top(demo, PARAPHRASE)[0] == "F31527"
    with demo.session() as session:
        phrasings.remove_phrasing(session=session, phrasing_id=phrasing_id, actor="test")
    after = demo.similar(PARAPHRASE, k=5, min_score=-1.0).hits
    assert [(hit.external_id, hit.score) for hit in after] == [
        (hit.external_id, hit.score) for hit in before]


def test_another_process_sees_the_phrasing_through_the_change_log(
        demo: Knowledge, e5_embedder: Any, tmp_path: Path) -> None:
    other = Knowledge.from_url(demo.engine.url.render_as_string(hide_password=False),
                               embedder_factory=lambda: e5_embedder,
                               index_dir=tmp_path / "other-index")
    try:
        assert top(other, PARAPHRASE)[0] != "F31527"
        phrasing_id = learn(demo, "F31527", LEARNT)
        assert top(other, PARAPHRASE)[0] == "F31527"
        with demo.session() as session:
            phrasings.remove_phrasing(session=session, phrasing_id=phrasing_id, actor="test")
        assert top(other, PARAPHRASE)[0] != "F31527"
        assert other.check_index() == []
    finally:
        other.close()


def test_the_index_holds_one_vector_per_phrasing_keyed_by_its_entry(demo: Knowledge) -> None:
    phrasing_id = learn(demo, "F31527", LEARNT)
    demo.sync_index()
    owner = entry_id(demo, "F31527")
    vector_id = embeddings.phrasing_vector_id(owner, phrasing_id)
    ids = demo._index().ids()
    assert vector_id in ids
    assert int(embeddings.entry_ids_of(np.asarray([vector_id]))[0]) == owner
    # Rebuilt from the database, the index holds the same vectors, for the same entries.
    assert demo.rebuild_index() == len(set(embeddings.entry_ids_of(ids).tolist()))
    assert sorted(demo._index().ids().tolist()) == sorted(ids.tolist())
    assert demo.check_index() == []


def test_retiring_the_entry_takes_its_phrasings_out_of_the_search(demo: Knowledge) -> None:
    learn(demo, "F31527", LEARNT)
    with demo.session() as session:
        entries.retire(session=session, entry_id=entry_id(demo, "F31527"), actor="test",
                       reason="essai")
    assert top(demo, PARAPHRASE)[0] != "F31527"
    assert demo.check_index() == []


def test_same_phrasing_twice_or_too_short_is_not_kept(demo: Knowledge) -> None:
    learn(demo, "F31527", LEARNT)
    owner = entry_id(demo, "F31527")
    with demo.session() as session:
        assert phrasings.add_phrasing(session=session, entry_id=owner, text=LEARNT.upper(),
                                      actor="test", embedder=demo.embedder) is None
        with pytest.raises(InvalidInput):
            phrasings.add_phrasing(session=session, entry_id=owner, text="merci",
                                   actor="test", embedder=demo.embedder)
        with pytest.raises(NotFound):
            phrasings.remove_phrasing(session=session, phrasing_id=999_999, actor="test")
