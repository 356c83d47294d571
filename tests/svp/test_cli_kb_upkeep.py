"""`svp kb history|diff|restore|due|verify|remind|themes` and `import --dry-run`, run as an
operator would, in a child process on the real databases."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from svp_process import run_svp

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def _ok(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = run_svp(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _one_line_error(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = run_svp(*args, env=env, cwd=cwd)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Erreur"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def revised(svp_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A base with K1 at revision 2 (the answer changed by a second import) and K2."""
    _ok(svp_env, tmp_path, "init")
    _ok(svp_env, tmp_path, "kb", "import", str(_write(tmp_path / "v1.jsonl", [
        {"id": "K1", "question": "Quel est le plafond PLUS ?", "answer": "30 000 euros par an.",
         "theme": "charges", "review_by": "2020-01-01"},
        {"id": "K2", "question": "Qui paie la TEOM ?", "answer": "Le locataire.",
         "theme": "Fiscalité (TFPB)"}])))
    _ok(svp_env, tmp_path, "kb", "import", str(_write(tmp_path / "v2.jsonl", [
        {"id": "K1", "question": "Quel est le plafond PLUS ?",
         "answer": "31 500 euros par an."}])))
    return svp_env


def test_history_and_diff(revised: dict[str, str], tmp_path: Path) -> None:
    data = json.loads(_ok(revised, tmp_path, "kb", "history", "K1", "--json"))
    assert data["revision"] == 2
    assert [(h["revision"], h["author"], h["reason"]) for h in data["history"]] == [
        (1, "Ligne de commande", "import v1.jsonl"), (2, "Ligne de commande", "import v2.jsonl")]
    assert data["history"][1]["changed"] == ["Réponse"] and data["history"][1]["substantive"]
    text = _ok(revised, tmp_path, "kb", "history", "K1")
    assert "Révision 2 (Réponse), par Ligne de commande — motif : import v2.jsonl" in text
    diff = _ok(revised, tmp_path, "kb", "diff", "K1", "1", "2")
    assert "Réponse :\n[-30-]{+31+} [-000-]{+500+} euros par an." in diff
    assert "introuvable" in _one_line_error(revised, tmp_path, "kb", "diff", "K1", "1", "7")
    restored = _ok(revised, tmp_path, "kb", "restore", "K1", "1")
    assert "révision 1 rétablie comme révision 3" in restored


def test_due_verify_and_remind(revised: dict[str, str], tmp_path: Path) -> None:
    due = json.loads(_ok(revised, tmp_path, "kb", "due", "--json"))
    assert [(row["review_by"], row["overdue"]) for row in due] == [("2020-01-01", True)]
    assert "date invalide" in _one_line_error(revised, tmp_path, "kb", "verify", "K1",
                                              "--until", "demain")
    verified = _ok(revised, tmp_path, "kb", "verify", "K1", "--january")
    today = date.today()
    january = date(today.year + 1, 1, 1)
    assert f"prochaine vérification le {january:%d/%m/%Y}" in verified
    due = json.loads(_ok(revised, tmp_path, "kb", "due", "--json"))
    # No longer overdue; still listed as due soon when 1 January is within 30 days (December).
    soon = [(january.isoformat(), False)] if (january - today).days <= 30 else []
    assert [(row["review_by"], row["overdue"]) for row in due] == soon
    far = (today + timedelta(days=120)).isoformat()
    _ok(revised, tmp_path, "kb", "verify", "K1", "--until", far)
    assert json.loads(_ok(revised, tmp_path, "kb", "due", "--json")) == []
    assert "0 conseiller(s)" in _ok(revised, tmp_path, "kb", "remind")


def test_themes_and_dry_run(revised: dict[str, str], tmp_path: Path) -> None:
    listed = _ok(revised, tmp_path, "kb", "themes", "list")
    assert "    1  charges" in listed and "    1  Fiscalité (TFPB)" in listed
    _ok(revised, tmp_path, "kb", "themes", "rename", "CHARGES", "Charges locatives")
    _ok(revised, tmp_path, "kb", "themes", "add", "Loyers et charges")
    merged = _ok(revised, tmp_path, "kb", "themes", "merge", "charges locatives",
                 "loyers ET charges")
    assert "1 fiche(s) reclassée(s)" in merged
    found = _ok(revised, tmp_path, "kb", "list", "--theme", "LOYERS et charges")
    assert found.split()[1] == "K1"
    assert "existe déjà" in _one_line_error(revised, tmp_path, "kb", "themes", "add",
                                            "fiscalite (tfpb)")
    # A near duplicate of a theme of the list is refused unless forced.
    similar = _one_line_error(revised, tmp_path, "kb", "themes", "add", "TFPB et fiscalité")
    assert "ressemble à « Fiscalité (TFPB) »" in similar and "--force" in similar
    assert "ajouté" in _ok(revised, tmp_path, "kb", "themes", "add", "TFPB et fiscalité",
                           "--force")
    before = _ok(revised, tmp_path, "kb", "export")
    dry = run_svp("kb", "import", "--dry-run", str(_write(tmp_path / "v3.jsonl", [
        {"id": "K3", "question": "Nouvelle ?", "answer": "Oui.", "theme": "Aides au logement"},
        {"id": "K2", "question": "Qui paie la TEOM ?", "answer": "Le propriétaire."}])),
        env=revised, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert ("Essai sans enregistrement de « v3.jsonl » (JSONL) : créées : 1, mises à jour : 1"
            in dry.stdout)
    assert "1 nouveau thème serait créé : « Aides au logement »." in dry.stdout
    assert _ok(revised, tmp_path, "kb", "export") == before
    assert "Aides au logement" not in _ok(revised, tmp_path, "kb", "themes", "list")
