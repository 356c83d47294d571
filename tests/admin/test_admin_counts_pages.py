"""The statistics and digest pages print the same counts, defined the same way, in French."""

from __future__ import annotations

import html
import re

from admin_helpers import client_for, log_in, make_user
from stats_fixture import build

from knowledge.catalog.activity import DEFINITIONS
from knowledge.runtime import Knowledge


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_both_pages_state_the_same_definitions_and_agree(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:
        build(session)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        stats = _text(client.get("/stats", params={"from": "2026-11-01",
                                                   "to": "2026-11-30"}).text)
        letter = _text(client.get("/digest", params={"month": "2026-11"}).text)
        empty = _text(client.get("/digest", params={"month": "2026-08"}).text)
    for definition in DEFINITIONS:
        assert definition in stats and definition in letter
    assert ("5 questions reçues, 3 questions répondues par les conseillers, 1 question résolue "
            "par une réponse existante. 2 fiches publiées, 0 fiche mise à jour.") in letter
    for name, number in (("Questions reçues", 5), ("Questions répondues", 3),
                         ("Résolues par une réponse existante", 1), ("Fiches publiées", 2),
                         ("Fiches mises à jour", 0)):
        assert f"{name} {number} " in stats
    assert "comparée aux mêmes dates un an plus tôt (du 01/11/2025 au 30/11/2025" in stats
    assert "Fiches retenues (2 fiches publiées ou mises à jour ce mois-ci)" in letter
    assert "0 question reçue, 0 question répondue" in empty and "0 fiche publiée" in empty
    assert "0 demandeur abonné" in empty
