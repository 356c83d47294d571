"""`svp glossary list|import|export` and `svp kb phrasing` through real `svp` processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from svp_process import run_svp

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes


def test_glossary_export_import_round_trip(svp_env: dict[str, str], tmp_path: Path) -> None:
    assert run_svp("init", env=svp_env, cwd=tmp_path).returncode == 0
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"term": "ZQX", "synonyms": ["zone de quiétude extrême"],
                                "note": "essai"}, ensure_ascii=False) + "\n", encoding="utf-8")
    imported = run_svp("glossary", "import", str(mine), env=svp_env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "1 terme(s) ajouté(s)" in imported.stdout
    exported = tmp_path / "export.jsonl"
    result = run_svp("glossary", "export", "-o", str(exported), env=svp_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert {"term": "ZQX", "synonyms": ["zone de quiétude extrême"], "note": "essai"} in [
        json.loads(line) for line in lines]
    again = run_svp("glossary", "import", str(exported), env=svp_env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"0 terme(s) ajouté(s), 0 mis à jour, {len(lines)} inchangé(s)" in again.stdout
    shown = run_svp("glossary", "list", "--query", "règles de la ZQX", env=svp_env,
                    cwd=tmp_path)
    assert "zqx → zone de quiétude extrême" in shown.stdout


def test_glossary_import_of_a_bad_file_fails_with_one_french_line(
        svp_env: dict[str, str], tmp_path: Path) -> None:
    assert run_svp("init", env=svp_env, cwd=tmp_path).returncode == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"term": "APL"}\n', encoding="utf-8")
    result = run_svp("glossary", "import", str(bad), env=svp_env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Erreur : bad.jsonl, ligne 1")
    assert "Traceback" not in result.stderr
