"""JSON API search: each hit carries the passage of its answer closest to the question."""

from __future__ import annotations

from admin_helpers import make_entry, make_user
from api_helpers import api_client, bearer, make_token

from knowledge.runtime import Knowledge

QUESTION = "Quelles sont les règles de l'état des lieux d'un logement loué ?"
PARAGRAPHS = (
    "L'état des lieux décrit le logement et ses équipements lors de la remise des clés au "
    "locataire, puis lors de leur restitution. Il est établi par écrit et signé des deux parties.",
    "Il est joint au contrat de location. Chaque partie en garde un exemplaire, papier ou "
    "électronique, et peut le consulter pendant toute la durée du bail.",
    "Le locataire peut demander au bailleur de compléter l'état des lieux d'entrée dans un délai "
    "de 10 jours à compter de son établissement, par exemple pour signaler un radiateur qui ne "
    "chauffe pas.",
    "Pendant le premier mois de la période de chauffe, le locataire peut aussi demander que "
    "l'état des éléments de chauffage soit complété.",
)
ANSWER = "\n\n".join(PARAGRAPHS)


def test_search_hits_carry_the_closest_passage_with_its_offsets(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille", scope="read"))
    entry_id = make_entry(admin_knowledge, QUESTION, ANSWER)
    with api_client(admin_knowledge) as client:
        found = client.get("/api/v1/search", params={
            "q": "combien de jours le locataire a-t-il pour faire compléter l'état des lieux "
            "d'entrée ?",
            "k": 1}, headers=auth)
    assert found.status_code == 200, found.text
    [hit] = found.json()["hits"]
    assert hit["entry_id"] == entry_id
    passage = hit["passage"]
    assert set(passage) == {"text", "start", "end", "score", "from_question"}
    assert passage["text"] == hit["answer"][passage["start"]:passage["end"]] == PARAGRAPHS[2]
    assert passage["from_question"] is False and 0 < passage["score"] <= 1
