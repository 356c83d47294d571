"""`svp eval --misses`: the queries whose first hit is wrong, on a tiny base with a known miss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from svp_process import import_demo_entries, run_svp

pytestmark = pytest.mark.slow  # every test runs `svp` in child processes

# Two entries on the social tariffs of energy (electricity, gas) and one on balustrades.
ENTRY_IDS = ("F10580", "F19206", "F481")

# The second query asks about gas but is labelled with the electricity entry: a known miss,
# whose expected entry ranks second behind the gas entry. The last one must abstain and does.
LABELLED: list[dict[str, object]] = [
    {"q": "hauteur minimale d'un garde corps de balcon", "rel": ["F481"]},
    {"q": "tarif spécial de solidarité pour le gaz naturel", "rel": ["F10580"]},
    {"q": "recette de la bouillabaisse", "rel": []},
]


@pytest.fixture
def tiny(svp_env: dict[str, str], tmp_path: Path, demo_data: Path) -> dict[str, str]:
    """A database holding three real entries of the demo base, imported by `svp kb import`."""
    import_demo_entries(ENTRY_IDS, demo_data=demo_data, env=svp_env, cwd=tmp_path)
    return svp_env


def test_misses_name_the_expected_entry_its_rank_and_the_top_hit(tiny: dict[str, str],
                                                                 tmp_path: Path) -> None:
    labelled = tmp_path / "set.jsonl"
    labelled.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n"
                                for item in LABELLED), encoding="utf-8")
    result = run_svp("eval", str(labelled), "--misses", "--json", env=tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    misses = json.loads(result.stdout)["misses"]
    assert [miss["q"] for miss in misses] == [LABELLED[1]["q"]]
    miss = misses[0]
    assert miss["expected_id"] == "F10580"
    assert miss["expected_rank"] == 2
    assert miss["top_id"] == "F19206"
    assert miss["top_score"] > miss["expected_score"]
    table = run_svp("eval", str(labelled), "--misses", env=tiny, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Requêtes manquées (1)" in table.stdout
    assert "ligne 2" in table.stdout
    assert "F10580, rang 2" in table.stdout
    assert "premier résultat : F19206" in table.stdout
