"""Passages of entries: how answers are cut, stored, kept in step with entries and checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakes import FakeEmbedder
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from knowledge.catalog import entries, history
from knowledge.catalog.entries import EntryFields
from knowledge.retrieval import embeddings, passages
from knowledge.retrieval.passages import EntryPassage
from knowledge.runtime import Knowledge

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "knowledge" / "data" / "demo-kb.jsonl"

SENTENCE = ("Le bailleur social adresse chaque année au locataire une enquête sur ses "
            "ressources, à laquelle il doit répondre dans le délai d'un mois.")
LONG_PARAGRAPH = " ".join(f"Règle {number} : {SENTENCE}" for number in range(1, 9))


def stored(session: Session, entry_id: int) -> list[EntryPassage]:
    return list(session.scalars(select(EntryPassage).where(EntryPassage.entry_id == entry_id)
                                .order_by(EntryPassage.position)))


def make(session: Session, question: str, answer: str, embedder: Any) -> int:
    return entries.create(session=session, content=EntryFields(question=question, answer=answer),
                          actor="test", embedder=embedder).id


# --- splitting -------------------------------------------------------------------------------


def test_every_passage_of_the_demo_base_is_exactly_its_offsets_in_the_answer() -> None:
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        spans, texts = passages.passage_texts(row["question"], row["answer"])
        assert spans[0].position == 0 and texts[0] == row["question"].strip()
        answer_spans = spans[1:]
        assert [span.position for span in answer_spans] == list(range(1, len(spans)))
        for span, text in zip(answer_spans, texts[1:], strict=True):
            assert row["answer"][span.start:span.end] == text
            assert text == text.strip() and text
        # In order, never overlapping, and no word of the answer left out.
        ends = [span.end for span in answer_spans]
        assert all(end <= nxt.start for end, nxt in zip(ends, answer_spans[1:], strict=False))
        covered = "".join(texts[1:])
        assert "".join(row["answer"].split()) == "".join(covered.split())


def test_the_question_is_passage_zero_with_offsets_into_the_question() -> None:
    spans, texts = passages.passage_texts("  Qui paie la TEOM ?  ", "Le locataire, en charges.")
    assert (spans[0].position, spans[0].start, spans[0].end) == (0, 2, 20)
    assert texts == ["Qui paie la TEOM ?", "Le locataire, en charges."]


def test_a_long_paragraph_is_cut_into_windows_of_whole_sentences() -> None:
    answer = f"Introduction courte mais suffisante pour former un passage.\n\n{LONG_PARAGRAPH}"
    _, texts = passages.passage_texts("Enquête ressources ?", answer)
    windows = texts[2:]
    assert texts[1] == "Introduction courte mais suffisante pour former un passage."
    assert len(windows) >= 3
    for text in windows:
        assert len(text) <= passages.MAX_CHARS
        assert text.startswith("Règle ") and text.endswith("mois.")
        assert 1 <= text.count("Règle ") <= passages.WINDOW_SENTENCES
    assert sum(text.count("Règle ") for text in windows) == 8


def test_a_short_heading_joins_the_paragraph_after_it() -> None:
    answer = ("Exemple\n\nPour un logement de 25 m², le montant maximum payable par le locataire "
              "est de 75 € (25 x 3 €).")
    _, texts = passages.passage_texts("Frais d'état des lieux ?", answer)
    assert texts[1:] == [answer]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Voir l'art. L. 442-12 du code. M. Dupont répond ensuite. Puis le bailleur décide."
    sentences = [text[start:end] for start, end in passages.sentence_spans(text)]
    assert sentences == ["Voir l'art. L. 442-12 du code.", "M. Dupont répond ensuite.",
                         "Puis le bailleur décide."]


def test_the_shown_excerpt_keeps_whole_sentences_and_marks_the_cuts() -> None:
    answer = f"Début de la réponse qui ne répond pas encore.\n\n{LONG_PARAGRAPH}"
    spans, _ = passages.passage_texts("Q ?", answer)
    span = spans[3]
    passage = passages.Passage(position=span.position, start=span.start, end=span.end,
                               text=answer[span.start:span.end], score=0.9)
    shown = passages.shown_excerpt(passage, answer, 350)
    assert shown.startswith("… Règle ") and shown.endswith("mois. …")
    short = passages.shown_excerpt(passage, answer, 200)
    assert len(short) <= 200 + 4 and short.endswith("mois. …")


# --- storage ---------------------------------------------------------------------------------


def test_creating_an_entry_stores_a_vector_per_passage(session: Session) -> None:
    embedder = FakeEmbedder()
    answer = f"Première partie de la réponse, assez longue pour un passage.\n\n{LONG_PARAGRAPH}"
    entry_id = make(session, "Enquête ressources : que faire ?", answer, embedder)
    rows = stored(session, entry_id)
    spans = passages.split("Enquête ressources : que faire ?", answer)
    assert [(row.position, row.start, row.end) for row in rows] == [
        (span.position, span.start, span.end) for span in spans]
    digest = embeddings.text_hash(embeddings.passage_text("Enquête ressources : que faire ?",
                                                          answer))
    assert {(row.model_id, row.dim, row.text_hash) for row in rows} == {
        (embedder.model_id, embedder.dim, digest)}
    assert all(len(row.vector) == 4 * embedder.dim for row in rows)


def test_passages_follow_a_revision_and_a_restore(session: Session) -> None:
    embedder = FakeEmbedder()
    question = "Qui paie la taxe d'enlèvement des ordures ménagères ?"
    first = "Le bailleur la paie puis la récupère sur le locataire, dans les charges."
    entry_id = make(session, question, first, embedder)
    second = f"Le bailleur la récupère.\n\n{LONG_PARAGRAPH}"
    entries.update(session=session, entry_id=entry_id, actor="test", embedder=embedder,
                   content=EntryFields(question=question, answer=second))
    rows = stored(session, entry_id)
    assert len(rows) > 2 and rows[-1].end <= len(second)
    assert [second[row.start:row.end] for row in rows[1:]] == passages.passage_texts(
        question, second)[1][1:]
    history.restore(session=session, entry_id=entry_id, number=1, actor="test",
                    embedder=embedder)
    rows = stored(session, entry_id)
    assert [(row.position, first[row.start:row.end]) for row in rows[1:]] == [(1, first)]
    assert rows[0].text_hash == embeddings.text_hash(embeddings.passage_text(question, first))


def test_a_retired_entry_is_never_listed_as_missing_passages(session: Session) -> None:
    embedder = FakeEmbedder()
    entry_id = make(session, "Qui paie la TEOM ?", "Le locataire, dans ses charges.", embedder)
    session.execute(delete(EntryPassage).where(EntryPassage.entry_id == entry_id))
    assert embeddings.stale_passage_entry_ids(session=session,
                                              model_id=embedder.model_id) == [entry_id]
    entries.retire(session=session, entry_id=entry_id, actor="test")
    assert embeddings.stale_passage_entry_ids(session=session, model_id=embedder.model_id) == []
    assert embeddings.embed_missing_passages(session=session, embedder=embedder) == 0


def test_a_text_change_without_embedder_drops_the_passages_it_made_wrong(
        session: Session) -> None:
    embedder = FakeEmbedder()
    entry_id = make(session, "Qui paie la TEOM ?", "Le locataire, dans ses charges.", embedder)
    entries.update(session=session, entry_id=entry_id, actor="test", embedder=None,
                   content=EntryFields(question="Qui paie la TEOM ?",
                                       answer="Le locataire la rembourse au bailleur."))
    assert stored(session, entry_id) == []
    assert embeddings.stale_passage_entry_ids(session=session,
                                              model_id=embedder.model_id) == [entry_id]
    assert embeddings.embed_missing_passages(session=session, embedder=embedder) == 1
    assert len(stored(session, entry_id)) == 2


def test_index_check_reports_missing_and_stale_passages(engine: Engine, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    knowledge = Knowledge(engine=engine, embedder_factory=lambda: embedder,
                          index_dir=tmp_path / "index")
    try:
        with knowledge.session() as session:
            kept = make(session, "Qui paie la TEOM ?", "Le locataire, en charges.", embedder)
            gone = make(session, "Le dépôt de garantie ?", "Un mois de loyer hors charges.",
                        embedder)
        knowledge.rebuild_index()
        assert knowledge.check_index() == []
        with knowledge.session() as session:
            session.execute(delete(EntryPassage).where(EntryPassage.entry_id == gone))
            row = session.get(EntryPassage, (kept, 0))
            assert row is not None
            row.text_hash = "0" * 64  # cut from another text
        [problem] = knowledge.check_index()
        assert problem.startswith("2 fiche(s) active(s) sans passages à jour")
        assert "svp index reembed" in problem
        # What `svp init` runs after an upgrade or an interrupted re-embedding.
        assert knowledge.embed_missing_passages(batch=1) == 2
        assert knowledge.check_index() == []
    finally:
        knowledge.close(save=False)


def test_passages_never_enter_the_index_nor_move_the_ranking(engine: Engine,
                                                            tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    knowledge = Knowledge(engine=engine, embedder_factory=lambda: embedder,
                          index_dir=tmp_path / "index")
    try:
        with knowledge.session() as session:
            make(session, "Enquête ressources : que faire ?", LONG_PARAGRAPH, embedder)
            make(session, "Qui paie la TEOM ?", "Le locataire, dans ses charges.", embedder)
        with_passages = knowledge.similar("délai de réponse à l'enquête", k=2, min_score=-1.0)
        without = knowledge.similar("délai de réponse à l'enquête", k=2, min_score=-1.0,
                                    passages=False)
        assert [(hit.entry_id, hit.score) for hit in with_passages.hits] == [
            (hit.entry_id, hit.score) for hit in without.hits]
        assert all(hit.passage is None for hit in without.hits)
        assert all(hit.passage is not None for hit in with_passages.hits)
        # Three vectors per entry (text, question) and none per passage.
        assert knowledge.rebuild_index() == 2
        assert len(knowledge._index()) == 4
    finally:
        knowledge.close(save=False)
