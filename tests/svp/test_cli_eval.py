"""`svp eval` end to end: real database, real import, real e5 embedder, real FAISS index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from svp_process import import_demo_entries, run_svp

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes

# Short real entries of the demo base keep the embedding time of the test small.
ENTRY_IDS = ("F10580", "F19206", "F18493", "F481", "F1703")

LABELLED: list[dict[str, object]] = [
    {"q": "tarif de premiere necessite electricite", "rel": ["F10580"]},
    {"q": "garantie loca-pass encore accordée ?", "rel": ["F18493"]},
    {"q": "hauteur minimale d'un garde corps de balcon", "rel": ["F481"]},
    {"q": "délai de rétractation après la signature du bail", "rel": ["F1703"]},
    {"q": "recette de la bouillabaisse", "rel": []},
    {"q": "résultat du match de football d'hier soir", "rel": []},
]

JSON_KEYS = {"recall_at_1", "recall_at_5", "mrr", "abstain_auc", "best_threshold", "n"}


@pytest.fixture
def imported(svp_env: dict[str, str], tmp_path: Path, demo_data: Path) -> dict[str, str]:
    """A database holding a few real entries of the demo base, imported by `svp kb import`."""
    import_demo_entries(ENTRY_IDS, demo_data=demo_data, env=svp_env, cwd=tmp_path)
    return svp_env


def write_labelled(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
                    encoding="utf-8")
    return path


def test_eval_json_reports_exactly_the_documented_metrics(imported: dict[str, str],
                                                          tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "set.jsonl", LABELLED)
    result = run_svp("eval", str(labelled), "--json", env=imported, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == JSON_KEYS
    assert report["n"] == len(LABELLED)
    for key in ("recall_at_1", "recall_at_5", "mrr", "abstain_auc"):
        assert 0.0 <= report[key] <= 1.0
    assert report["recall_at_1"] <= report["recall_at_5"]
    assert -1.0 <= report["best_threshold"] <= 1.0
    # The base holds five entries, so each relevant one is somewhere in the first five hits.
    assert report["recall_at_5"] == 1.0


def test_eval_prints_a_french_table_by_default(imported: dict[str, str], tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "set.jsonl", LABELLED)
    result = run_svp("eval", str(labelled), env=imported, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Rappel@1" in result.stdout
    assert "AUC de l'abstention" in result.stdout
    assert "Seuil optimal" in result.stdout


def test_eval_warns_about_expected_ids_missing_from_the_base(imported: dict[str, str],
                                                            tmp_path: Path) -> None:
    extra: dict[str, object] = {"q": "trêve hivernale", "rel": ["F34736"]}
    labelled = write_labelled(tmp_path / "set.jsonl", [*LABELLED, extra])
    result = run_svp("eval", str(labelled), "--json", env=imported, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "F34736" in result.stderr
    assert json.loads(result.stdout)["n"] == len(LABELLED) + 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"q": "trêve hivernale", "rel": ["F34736"]}\n{"q": "oups"\n', "ligne 2"),
        ('{"q": "trêve hivernale", "rel": "F34736"}\n', "ligne 1"),
        ("", "aucune requête"),
    ],
)
def test_bad_labelled_file_exits_non_zero_with_one_french_line(
    svp_env: dict[str, str], tmp_path: Path, content: str, reason: str
) -> None:
    labelled = tmp_path / "mauvais.jsonl"
    labelled.write_text(content, encoding="utf-8")
    result = run_svp("eval", str(labelled), env=svp_env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_labelled_file_exits_non_zero(svp_env: dict[str, str], tmp_path: Path) -> None:
    result = run_svp("eval", str(tmp_path / "absent.jsonl"), env=svp_env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "introuvable" in result.stderr


def test_eval_on_an_empty_base_says_to_import_first(svp_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "set.jsonl", LABELLED)
    result = run_svp("eval", str(labelled), env=svp_env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "svp kb import" in result.stderr


def test_eval_runs_with_a_given_ranking_and_names_it(imported: dict[str, str],
                                                     tmp_path: Path) -> None:
    labelled = write_labelled(tmp_path / "set.jsonl", LABELLED)
    result = run_svp("eval", str(labelled), "--question-vectors", "weighted",
                     "--question-weight", "0.7", "--glossary", "off", env=imported, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("Classement : vecteurs de question pondérés (question 0,7), glossaire off, poids "
            "lexical 0,1, 50 candidats reclassés.") in result.stdout
    # The environment is the other way to choose, and options win over it.
    env = {**imported, "SVP_SEARCH_QUESTION_VECTORS": "off", "SVP_SEARCH_RERANK_POOL": "20"}
    result = run_svp("eval", str(labelled), "--rerank-pool", "30", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "vecteurs de question off" in result.stdout and "30 candidats" in result.stdout


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--glossary", "bof"], {}, "SVP_SEARCH_GLOSSARY"),
    (["--lexical-weight", "2"], {}, "SVP_SEARCH_LEXICAL_WEIGHT"),
    ([], {"SVP_SEARCH_RERANK_POOL": "cinquante"}, "SVP_SEARCH_RERANK_POOL"),
    ([], {"SVP_SEARCH_QUESTION_VECTORS": "moyenne"}, "SVP_SEARCH_QUESTION_VECTORS"),
])
def test_bad_ranking_setting_exits_non_zero_with_one_french_line(
        svp_env: dict[str, str], tmp_path: Path, args: list[str], env: dict[str, str],
        named: str) -> None:
    labelled = write_labelled(tmp_path / "set.jsonl", LABELLED)
    result = run_svp("eval", str(labelled), *args, env={**svp_env, **env}, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_ranking_setting_stops_a_search_too(svp_env: dict[str, str],
                                                tmp_path: Path) -> None:
    env = {**svp_env, "SVP_SEARCH_LEXICAL_WEIGHT": "0,1"}
    result = run_svp("search", "préavis", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "SVP_SEARCH_LEXICAL_WEIGHT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
