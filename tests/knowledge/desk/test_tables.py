"""Tables in answers reach Telegram readable: one line per row, each value with its header."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.desk.formatting import render_parts
from knowledge.desk.tables import readable_tables

DEMO = Path(__file__).resolve().parents[3] / "knowledge" / "data" / "demo-kb.jsonl"

FLATTENED = """Le plafond dépend du foyer.
Revenus annuels : montant maximum autorisé
Personnes à loger

Paris

Autres régions

1 personne

46 812 €

40 697 €

2 personnes

Cas général

69 960 €

54 347 €

Jeune couple

91 710 €

65 356 €

Rappel
Les montants changent chaque année."""


def test_a_flattened_table_becomes_one_line_per_row_with_its_headers() -> None:
    text = readable_tables(FLATTENED)
    assert "• 1 personne — Paris : 46 812 € ; Autres régions : 40 697 €" in text
    assert "• 2 personnes, Cas général — Paris : 69 960 € ; Autres régions : 54 347 €" in text
    assert "• Jeune couple — Paris : 91 710 € ; Autres régions : 65 356 €" in text
    # The text around the table is kept, word for word, the heading after it included.
    assert text.startswith("Le plafond dépend du foyer.\nRevenus annuels : montant maximum")
    assert text.endswith("\n\nRappel\nLes montants changent chaque année.")
    assert "\n46 812 €\n" not in text


def test_a_pipe_table_becomes_one_line_per_row_with_its_headers() -> None:
    text = readable_tables("Barème :\n| Zone | Loyer | Charges |\n|---|---|---|\n"
                           "| A | 7,50 € | 1 € |\n| B1 | 6,20 € | 0,80 € |\nFin.")
    assert text == ("Barème :\n• A — Loyer : 7,50 € ; Charges : 1 €\n"
                    "• B1 — Loyer : 6,20 € ; Charges : 0,80 €\nFin.")


def test_ordinary_text_and_lists_are_left_alone() -> None:
    for text in ("Bonjour,\n\nLe loyer est de 500 €.\n\nCordialement",
                 "Pièces :\n- bail\n- état des lieux\n\n12 mois",
                 "Loyer\n\n500 €\n\nCharges\n\n100 €",  # a single column of values
                 "Article 1\n\n2019\n\nArticle 2\n\n2020\n\n2021"):  # rows of unequal width
        assert readable_tables(text) == text


def test_the_demo_income_table_reaches_telegram_as_rows() -> None:
    entry = next(json.loads(line) for line in DEMO.open(encoding="utf-8")
                 if json.loads(line)["id"] == "F31601")
    sent = "\n".join(render_parts(body=entry["answer"]))
    assert ("• Jeune couple — Paris et communes limitrophes : 91 710 € ; Autres communes "
            "d&#x27;Île-de-France : 84 098 € ; Autres régions : 65 356 €" in sent
            or "• Jeune couple — Paris et communes limitrophes : 91 710 € ; Autres communes "
            "d'Île-de-France : 84 098 € ; Autres régions : 65 356 €" in sent)
    assert "\n\n91 710 €\n\n" not in sent
    assert "Rappel\nles communes limitrophes de Paris sont" in sent


def test_headers_grouped_over_some_columns_are_never_attached_to_the_wrong_values() -> None:
    # F1626: « Île de France » spans two of the three columns; read in order, every header
    # would shift by one. The rows keep their values and the headers stay above as text.
    entry = next(json.loads(line) for line in DEMO.open(encoding="utf-8")
                 if json.loads(line)["id"] == "F1626")
    text = readable_tables(entry["answer"])
    assert "• 1 personne — 13 207 € ; 13 207 € ; 11 478 €" in text
    assert "Autre région : 13 207" not in text
    assert "Île de France\n\nAutre région\n\nParis ou ville limitrophe\n\nAutre commune" in text
