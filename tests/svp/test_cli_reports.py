"""`svp stats --json` gives the page's figures; `svp digest` writes Word and HTML letters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from docx import Document
from stats_fixture import build
from svp_process import run_svp

from knowledge.store.db import make_engine, make_session_factory

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes


def _history(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            build(session)
            session.commit()
    finally:
        engine.dispose()


def test_stats_json_has_the_figures_of_the_period(database_url: str, svp_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    _history(database_url)
    done = run_svp("stats", "--from", "2026-11-01", "--to", "2026-11-30", "--json",
                   env=svp_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["indicators"]["questions"] == 5
    assert figures["indicators"]["answer"] == {"count": 3, "median": 1.0, "p90": 9.0}
    # Compared with the same dates one year earlier.
    assert figures["previous_period"] == {"from": "2025-11-01", "to": "2025-11-30"}
    zero = {row["key"]: row["questions"] for row in figures["by_departement"]}
    assert zero["04"] == 0 and zero["83"] == 3
    bad = run_svp("stats", "--from", "hier", env=svp_env, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Erreur : Date invalide")


def test_digest_writes_word_and_html(database_url: str, svp_env: dict[str, str],
                                     tmp_path: Path) -> None:
    _history(database_url)
    word, page = tmp_path / "lettre.docx", tmp_path / "lettre.html"
    for target in (word, page):
        done = run_svp("digest", "2026-11", "-o", str(target), env=svp_env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    text = "\n".join(p.text for p in Document(io.BytesIO(word.read_bytes())).paragraphs)
    assert "Les réponses du SVP — novembre 2026" in text and "gardien" in text
    assert "Habitat Provence" not in text
    assert "<h1>Les réponses du SVP — novembre 2026</h1>" in page.read_text(encoding="utf-8")
    wrong = run_svp("digest", "2026-11", "-o", str(tmp_path / "lettre.pdf"), env=svp_env,
                    cwd=tmp_path)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1




def test_digest_with_a_name_needs_allow_personal_data(database_url: str,
                                                      svp_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    from stats_fixture import paris

    from knowledge.store.models import KnowledgeEntry

    _history(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            session.add(KnowledgeEntry(
                question="Mme Haddad peut-elle garder son T4 ?", answer="Oui.",
                theme="Attributions", question_hash="haddad", created_at=paris("2026-11-12"),
                updated_at=paris("2026-11-12"), tags=[], legal_references=[]))
            session.commit()
    finally:
        engine.dispose()
    target = tmp_path / "lettre.html"
    refused = run_svp("digest", "2026-11", "-o", str(target), env=svp_env, cwd=tmp_path)
    assert refused.returncode == 1 and not target.exists()
    assert refused.stderr.strip().startswith("Erreur : la lettre contient des données "
                                             "personnelles probables (fiches n° ")
    assert "--allow-personal-data" in refused.stderr and "Haddad" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    allowed = run_svp("digest", "2026-11", "-o", str(target), "--allow-personal-data",
                      env=svp_env, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert "Mme Haddad" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("args", [("stats", "--from", "9999-01-01", "--to", "9999-12-31"),
                                  ("digest", "9999-12", "-o", "lettre.html"),
                                  ("digest", "0001-01", "-o", "lettre.html")])
def test_dates_at_the_extremes_are_one_error_line(svp_env: dict[str, str], tmp_path: Path,
                                                  args: tuple[str, ...]) -> None:
    done = run_svp(*args, env=svp_env, cwd=tmp_path)
    assert done.returncode == 1
    refusal = done.stderr.strip()
    assert refusal.startswith("Erreur : "), refusal
    assert "hors des limites" in refusal or "l'an 9998" in refusal, refusal
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
