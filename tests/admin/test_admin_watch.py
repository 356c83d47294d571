"""The regulatory watch in the admin: references linked to Légifrance (or marked « non
reconnue »), references the answer cites offered to the adviser, and the API's view."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_entry, make_user
from api_helpers import api_client, bearer, make_token

from knowledge.catalog import entries
from knowledge.runtime import Knowledge
from knowledge.store.models import KnowledgeEntry

ANSWER = ("Le SLS n'est pas dû dans les QPV (article L. 441-3 du CCH). Voir aussi la loi "
          "ELAN, qui a modifié l'article L441-4 du code de la construction et de "
          "l'habitation.")


def _entry(knowledge: Knowledge) -> int:
    entry_id = make_entry(knowledge, "Le SLS est-il dû en QPV ?", ANSWER)
    with knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None
        entry.legal_references = ["CCH art. L441-3", "Note interne de l'association"]
    return entry_id


def test_entry_page_links_recognised_references_and_marks_the_others(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = _entry(admin_knowledge)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/kb/{entry_id}").text
    assert '<a href="https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006074096"' in page
    assert ">CCH art. L441-3</a>" in page
    assert "Note interne de l&#39;association <span class=\"badge badge-soon\"" in page
    assert "non reconnue" in page and 'id="legal-flags"' not in page


def test_edit_offers_the_references_of_the_answer_and_keeps_the_ticked_ones(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = _entry(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        form = client.get(f"/kb/{entry_id}/edit").text
        # L441-3 is already in the field: only what is missing is offered.
        assert 'value="CCH art. L441-4"' in form and "loi n° 2018-1021" in form
        assert 'value="CCH art. L441-3"' not in form
        saved = client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, "question": "Le SLS est-il dû en QPV ?", "answer": ANSWER,
            "references": "CCH art. L441-3\nNote interne de l'association",
            "suggested_reference": ["CCH art. L441-4"], "minor": "1"})
        assert saved.status_code == 303
    with admin_knowledge.session() as session:
        entry = entries.get(session=session, entry_id=entry_id)
        assert entry.legal_references == ["CCH art. L441-3", "Note interne de l'association",
                                          "CCH art. L441-4"]


def test_the_api_returns_each_reference_with_its_label_and_link(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = _entry(admin_knowledge)
    token = make_token(admin_knowledge, "camille", scope="read")
    with api_client(admin_knowledge) as client:
        body = client.get(f"/api/v1/entries/{entry_id}", headers=bearer(token)).json()
    assert body["references"] == [
        {"text": "CCH art. L441-3", "label": "CCH art. L441-3",
         "url": "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006074096"},
        {"text": "Note interne de l'association", "label": None, "url": None}]
    assert body["legal_flags"] == []
