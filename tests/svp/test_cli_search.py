"""`svp search` and `svp index ...` end to end: real CLI process, database, e5 and FAISS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import HOUSING_ENTRIES
from sqlalchemy import delete, select
from svp_process import run_svp

from index.embedders import make_embedder
from index.store import INDEX_FILE
from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.retrieval.passages import EntryPassage
from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine
from knowledge.store.models import KnowledgeEntry

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes

RESULT_KEYS = {"id", "external_id", "question", "answer", "score", "theme", "source",
               "passage"}
PASSAGE_KEYS = {"text", "start", "end", "score", "from_question"}


@pytest.fixture
def populated(svp_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Four short entries written (without embeddings, as an import without model would)."""
    knowledge = Knowledge.from_url(svp_env["SVP_DATABASE_URL"],
                                   embedder_factory=lambda: make_embedder("e5-small-int4"),
                                   index_dir=tmp_path / "unused")
    try:
        with knowledge.session() as session:
            for index in range(4):
                question, answer = HOUSING_ENTRIES[index]
                entries.create(session=session, actor="test", content=EntryFields(
                    question=question, answer=answer, external_id=f"E{index}",
                    theme="Logement", source=f"https://example.org/{index}"))
    finally:
        knowledge.engine.dispose()
    return svp_env


def test_search_json_follows_the_documented_schema(populated: dict[str, str],
                                                   tmp_path: Path) -> None:
    reembed = run_svp("index", "reembed", env=populated, cwd=tmp_path)
    assert reembed.returncode == 0, reembed.stderr
    assert "4 fiche(s) recalculée(s)" in reembed.stdout

    found = run_svp("search", "taxe sur les ordures ménagères, qui la paie ?", "--k", "2",
                    "--json", env=populated, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert set(body) == {"query", "abstained", "results"}
    assert body["query"] == "taxe sur les ordures ménagères, qui la paie ?"
    assert body["abstained"] is False
    assert 1 <= len(body["results"]) <= 2
    first = body["results"][0]
    assert set(first) == RESULT_KEYS
    assert (first["external_id"], first["theme"], first["source"]) == (
        "E0", "Logement", "https://example.org/0")
    assert isinstance(first["id"], int) and isinstance(first["score"], float)
    passage = first["passage"]
    assert set(passage) == PASSAGE_KEYS
    assert passage["text"] == first["answer"][passage["start"]:passage["end"]]
    scores = [result["score"] for result in body["results"]]
    assert scores == sorted(scores, reverse=True)

    off_topic = run_svp("search", "Quelle est la recette de la ratatouille ?", "--json",
                        env=populated, cwd=tmp_path)
    assert off_topic.returncode == 0, off_topic.stderr
    assert json.loads(off_topic.stdout) == {
        "query": "Quelle est la recette de la ratatouille ?", "abstained": True, "results": []}


def test_index_check_fails_with_a_reason_until_repaired(populated: dict[str, str],
                                                        tmp_path: Path) -> None:
    missing = run_svp("index", "check", env=populated, cwd=tmp_path)
    assert missing.returncode == 1
    assert "svp index reembed" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    assert run_svp("index", "reembed", env=populated, cwd=tmp_path).returncode == 0
    healthy = run_svp("index", "check", env=populated, cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stderr
    assert "cohérent" in healthy.stdout

    index_file = Path(populated["SVP_DATA_DIR"]) / "index" / INDEX_FILE
    index_file.write_bytes(index_file.read_bytes()[:-40])
    damaged = run_svp("index", "check", env=populated, cwd=tmp_path)
    assert damaged.returncode == 1
    assert "endommagé" in damaged.stderr

    rebuilt = run_svp("index", "rebuild", env=populated, cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "4 fiche(s)" in rebuilt.stdout
    assert run_svp("index", "check", env=populated, cwd=tmp_path).returncode == 0


def test_search_text_output_is_french(populated: dict[str, str], tmp_path: Path) -> None:
    assert run_svp("index", "reembed", env=populated, cwd=tmp_path).returncode == 0
    found = run_svp("search", "préavis pour quitter un logement vide", env=populated,
                    cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("1. (")
    assert "[E1]" in found.stdout.splitlines()[0]
    nothing = run_svp("search", "Qui a gagné la coupe du monde de football en 2018 ?",
                      env=populated, cwd=tmp_path)
    assert "Aucune fiche assez proche" in nothing.stdout
    empty = run_svp("search", "  ", env=populated, cwd=tmp_path)
    assert empty.returncode == 1
    assert empty.stderr.startswith("Erreur : la question est vide")


def test_svp_init_cuts_the_passages_a_stopped_reembed_left_missing(
        populated: dict[str, str], tmp_path: Path) -> None:
    assert run_svp("index", "reembed", env=populated, cwd=tmp_path).returncode == 0
    # As a database upgraded to passages, or a re-embedding killed between two batches.
    engine = make_engine(populated["SVP_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(delete(EntryPassage).where(EntryPassage.position >= 0)
                               .where(EntryPassage.entry_id.in_(
                                   select(KnowledgeEntry.id).where(
                                       KnowledgeEntry.external_id.in_(["E1", "E2"])))))
    finally:
        engine.dispose()
    missing = run_svp("index", "check", env=populated, cwd=tmp_path)
    assert missing.returncode == 1
    assert "2 fiche(s) active(s) sans passages à jour" in missing.stderr
    init = run_svp("init", env=populated, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "Passages calculés pour 2 fiche(s)." in init.stdout
    assert run_svp("index", "check", env=populated, cwd=tmp_path).returncode == 0
