"""Help centre reading (issue 23, points 3 and 4) with the real embedder: search with the
passage that answers, suggestions as you type, themes, entry pages, retired entries hidden,
and members' feedback counted with the askers'."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, make_entry
from help_helpers import sign_in_member

from admin.config import AdminConfig, HelpConfig
from knowledge.catalog import entries, usage
from knowledge.runtime import Knowledge

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DEEP = ("Le supplément de loyer de solidarité est une somme que le bailleur social ajoute au "
        "loyer quand les ressources du foyer dépassent les plafonds.\n\n"
        "Le bailleur mène chaque année une enquête sur les ressources des locataires. "
        "Le locataire qui ne répond pas s'expose à des pénalités.\n\n"
        "Le montant dépend de la zone, de la surface et du dépassement du plafond.\n\n"
        "Le supplément n'est pas dû dans les quartiers prioritaires de la politique de la ville "
        "(QPV), ni dans les zones de revitalisation rurale.")


def _config(*, anonymous_reading: bool = False) -> AdminConfig:
    return AdminConfig(secret_sealer=SEALER, help=HelpConfig(anonymous_reading=anonymous_reading))


def test_search_shows_the_passage_that_answers_and_retired_entries_never(
        admin_knowledge: Knowledge) -> None:
    sls = make_entry(admin_knowledge, "Le bailleur peut-il réclamer plus selon les revenus ?",
                     DEEP, theme="Loyers et charges")
    retired = make_entry(admin_knowledge, "Le SLS s'applique-t-il dans un quartier prioritaire ?",
                         "Non, jamais en QPV.", theme="Loyers et charges")
    with admin_knowledge.session() as session:
        entries.retire(session=session, entry_id=retired, actor="test")
    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        page = client.get("/aide/recherche", params={"q": "le SLS est-il dû en QPV ?"})
        assert page.status_code == 200
        assert f'href="/aide/fiches/{sls}"' in page.text
        assert f'href="/aide/fiches/{retired}"' not in page.text
        # The sentence that answers, not the entry's opening lines.
        assert "pas dû dans les quartiers prioritaires" in page.text
        assert client.get(f"/aide/fiches/{retired}").status_code == 404
        themed = client.get("/aide/themes/Loyers et charges")
        assert f"/aide/fiches/{sls}" in themed.text and f"/aide/fiches/{retired}" not in themed.text

        nothing = client.get("/aide/recherche", params={"q": "recette de la bouillabaisse"})
        assert "Aucune fiche ne répond" in nothing.text and 'id="no-answer"' in nothing.text

        typed = client.get("/aide/suggestions", params={"q": "suplement de loyer solidarite"})
        assert typed.status_code == 200
        assert [item["id"] for item in typed.json()["suggestions"]][:1] == [sls]
        assert client.get("/aide/suggestions", params={"q": "sl"}).json()["suggestions"] == []


def test_entry_page_has_its_check_date_references_source_related_and_permalink(
        admin_knowledge: Knowledge) -> None:
    with admin_knowledge.session() as session:
        entry = entries.create(session=session, actor="test", embedder=admin_knowledge.embedder,
                               content=entries.EntryFields(
                                   question="Le dépôt de garantie peut-il être encaissé ?",
                                   answer="Oui, le bailleur **encaisse** le dépôt de garantie.",
                                   theme="Bail", legal_references=("Art. 22 loi 89-462",),
                                   source="https://www.service-public.fr/F31269"))
        entry_id = entry.id
    near = make_entry(admin_knowledge, "Quel est le délai de restitution du dépôt de garantie ?",
                      "Un mois après la remise des clés si l'état des lieux est conforme.",
                      theme="Bail")
    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        page = client.get(f"/aide/fiches/{entry_id}")
        assert page.status_code == 200
        assert "vérifiée le" in page.text
        # The reference, recognised, is linked to Légifrance under its normalised form.
        assert ('<a href="https://www.legifrance.gouv.fr/search/all?tab_selection=all&amp;'
                in page.text and "loi n° 89-462 du 6 juillet 1989, art. 22</a>" in page.text)
        assert 'href="https://www.service-public.fr/F31269" rel="noopener noreferrer"' in page.text
        assert "<strong>encaisse</strong>" in page.text
        assert f'href="/aide/fiches/{near}"' in page.text  # related
        assert f"http://testserver/aide/fiches/{entry_id}" in page.text  # permanent link


def test_feedback_counts_with_the_askers_one_opinion_per_member(
        admin_knowledge: Knowledge) -> None:
    entry_id = make_entry(admin_knowledge, "Peut-on refuser un échange de logements ?",
                          "Oui, si les conditions ne sont pas remplies.")
    with client_for(admin_knowledge, _config()) as client:
        sign_in_member(admin_knowledge, client)
        token = CSRF.search(client.get(f"/aide/fiches/{entry_id}").text)
        assert token
        for value in ("1", "1", "-1"):
            response = client.post(f"/aide/fiches/{entry_id}/avis",
                                   data={"value": value, "csrf_token": token.group(1)})
            assert response.status_code == 303
        assert client.post(f"/aide/fiches/{entry_id}/avis",
                           data={"value": "1"}).status_code == 403  # no token
        assert 'aria-pressed="true">👎' in client.get(f"/aide/fiches/{entry_id}").text
    with admin_knowledge.session() as session:
        counts = usage.usage(session=session, entry_ids=[entry_id])[entry_id]
    assert (counts.likes, counts.dislikes) == (0, 1)


def test_reading_needs_a_member_unless_opened_to_all(admin_knowledge: Knowledge) -> None:
    entry_id = make_entry(admin_knowledge, "Qui paie la taxe d'ordures ménagères ?",
                          "Le locataire la rembourse au bailleur avec les charges.")
    with client_for(admin_knowledge, _config()) as closed:
        for path in ("/aide", "/aide/recherche?q=taxe", f"/aide/fiches/{entry_id}",
                     "/aide/suggestions?q=taxe"):
            assert closed.get(path).headers["location"].startswith("/aide/connexion"), path
    with client_for(admin_knowledge, _config(anonymous_reading=True)) as public:
        assert public.get("/aide").status_code == 200
        assert public.get(f"/aide/fiches/{entry_id}").status_code == 200
        assert "Connectez-vous</a> pour donner votre avis" in public.get(
            f"/aide/fiches/{entry_id}").text
        # Feedback stays for members: a visitor's form has no token to give.
        assert public.post(f"/aide/fiches/{entry_id}/avis", data={"value": "1"}
                           ).status_code == 403
