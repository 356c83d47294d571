"""Glossary pages (list, add, edit, delete, preview) and learnt phrasings on the entry page."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_entry, make_ticket, make_user
from sqlalchemy import select

from knowledge.retrieval import phrasings
from knowledge.runtime import Knowledge
from knowledge.store.vocabulary import EntryPhrasing, GlossaryTerm


def terms(knowledge: Knowledge) -> dict[str, str]:
    with knowledge.session() as session:
        return {row.term: row.synonyms for row in session.scalars(select(GlossaryTerm))}


def test_adviser_adds_edits_previews_and_deletes_a_term(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        created = client.post("/glossary/new", data={
            "csrf_token": csrf, "term": "ZQX", "synonyms": "zone de quiétude extrême\nquiétude"})
        assert created.status_code == 303
        assert terms(admin_knowledge)["ZQX"] == "zone de quiétude extrême\nquiétude"
        duplicate = client.post("/glossary/new", data={
            "csrf_token": csrf, "term": "zqx", "synonyms": "autre"})
        assert duplicate.status_code == 422 and "déjà" in duplicate.text
        preview = client.get("/glossary", params={"preview": "règles de la ZQX ?"}).text
        assert "zone de quiétude extrême" in preview.split('id="expanded"', 1)[1]
        with admin_knowledge.session() as session:
            term_id = session.scalars(select(GlossaryTerm.id)
                                      .where(GlossaryTerm.term == "ZQX")).one()
        client.post(f"/glossary/{term_id}/edit", data={
            "csrf_token": csrf, "term": "ZQX", "synonyms": "zone de quiétude", "note": "essai"})
        assert terms(admin_knowledge)["ZQX"] == "zone de quiétude"
        after_edit = client.get("/glossary", params={"preview": "règles de la ZQX ?"}).text
        assert "extrême" not in after_edit.split('id="expanded"', 1)[1]
        client.post(f"/glossary/{term_id}/delete", data={"csrf_token": csrf})
        assert "ZQX" not in terms(admin_knowledge)
        gone = client.get("/glossary", params={"preview": "règles de la ZQX ?"}).text
        assert "Aucun terme du glossaire" in gone


def test_shipped_glossary_is_listed(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:
        if not session.scalars(select(GlossaryTerm)).first():  # PostgreSQL tests truncate it
            session.add(GlossaryTerm(term="CALEOL", term_key="caleol",
                                     synonyms="commission d'attribution"))
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/glossary", params={"text": "caleol"}).text
    assert "commission d&#39;attribution" in page


def test_answering_from_an_entry_keeps_the_question_as_a_removable_phrasing(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la taxe d'enlèvement des ordures ménagères ?",
                          "Le propriétaire la paie et la récupère auprès du locataire.")
    asked = "Peut-on refacturer la TEOM à nos locataires ?"
    ticket_id = make_ticket(admin_knowledge, asked)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Oui, la TEOM est récupérable.",
            "publication": "update", "entry_id": str(entry_id), "question": asked})
        page = client.get(f"/kb/{entry_id}").text
        assert asked.replace("'", "&#39;") in page.split('id="formulations"', 1)[1]
        with admin_knowledge.session() as session:
            learnt = phrasings.list_phrasings(session=session, entry_id=entry_id)
            assert [(row.text, row.ticket_id) for row in learnt] == [(asked, ticket_id)]
            phrasing_id = learnt[0].id
        client.post(f"/kb/{entry_id}/phrasings/{phrasing_id}/delete",
                    data={"csrf_token": csrf})
        with admin_knowledge.session() as session:
            assert session.get(EntryPhrasing, phrasing_id) is None
        client.post(f"/kb/{entry_id}/phrasings", data={
            "csrf_token": csrf, "text": "TEOM récupérable sur le locataire HLM ?"})
        page = client.get(f"/kb/{entry_id}").text
    assert "TEOM récupérable sur le locataire HLM ?" in page
