"""The review queue and the ticket page through the web: suggestions, actions, approve."""

from __future__ import annotations

import pytest
from admin_helpers import (
    client_for,
    log_in,
    make_asker,
    make_entry,
    make_ticket,
    make_user,
)
from sqlalchemy import func, select

from knowledge.desk import outbox
from knowledge.retrieval.embeddings import EntryEmbedding, IndexChange
from knowledge.runtime import Knowledge
from knowledge.store.models import (
    EntryRevision,
    KnowledgeEntry,
    Outbox,
    Ticket,
    TicketMessage,
)

TEOM_Q = "Qui doit payer la taxe d'enlèvement des ordures ménagères dans un logement loué ?"
TEOM_A = ("La taxe d'enlèvement des ordures ménagères (TEOM) est payée par le propriétaire, "
          "qui peut la récupérer auprès du locataire dans les charges locatives.")
SLS_Q = "Quand le supplément de loyer de solidarité s'applique-t-il à un locataire HLM ?"
SLS_A = ("Le supplément de loyer de solidarité (SLS) est dû lorsque les ressources du ménage "
         "dépassent d'au moins 20 % les plafonds de ressources du logement social.")


def _count(knowledge: Knowledge, model: type) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _ticket(knowledge: Knowledge, ticket_id: int) -> Ticket:
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def test_queue_filters_and_age_badges(admin_knowledge: Knowledge) -> None:
    adviser_id = make_user(admin_knowledge, "camille")
    marseille = make_asker(admin_knowledge, organisation="Habitat Marseille", departement="13")
    nice = make_asker(admin_knowledge, organisation="Nice Logement", departement="06")
    fresh = make_ticket(admin_knowledge, "Question fraîche sur la TEOM", asker_id=marseille)
    old = make_ticket(admin_knowledge, "Vieille question sur le SLS", asker_id=nice,
                      assigned_to_id=adviser_id, theme="Loyers")
    make_ticket(admin_knowledge, "Question déjà répondue", status="answered")
    with admin_knowledge.session() as session:
        ticket = session.get(Ticket, old)
        assert ticket is not None
        ticket.created_at = ticket.created_at.replace(year=ticket.created_at.year - 1)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        everything = client.get("/queue").text
        mine = client.get("/queue?assigned=me").text
        in_06 = client.get("/queue?departement=06").text
        themed = client.get("/queue?theme=Loyers").text
        answered = client.get("/queue?status=answered").text
        aged = client.get("/queue?min_age=30").text
    assert f"/tickets/{fresh}" in everything and f"/tickets/{old}" in everything
    assert "Question déjà répondue" not in everything
    assert "en retard" in everything and "badge-late" in everything
    assert f"/tickets/{fresh}" not in mine and f"/tickets/{old}" in mine
    assert f"/tickets/{fresh}" not in in_06 and f"/tickets/{old}" in in_06
    assert f"/tickets/{old}" in themed and f"/tickets/{fresh}" not in themed
    assert "Question déjà répondue" in answered
    assert f"/tickets/{old}" in aged and f"/tickets/{fresh}" not in aged


def test_ticket_page_shows_live_suggestions_and_prefills_the_best_answer(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    retired = make_entry(admin_knowledge, "La TEOM est-elle due par le locataire ?",
                         "Ancienne réponse retirée sur la TEOM.")
    make_entry(admin_knowledge, SLS_Q, SLS_A)
    with admin_knowledge.session() as session:
        from knowledge.catalog import entries

        entries.retire(session=session, entry_id=retired, actor="test")
    ticket_id = make_ticket(admin_knowledge, "Le locataire doit-il rembourser la TEOM ?")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
    assert f"/kb/{teom}" in page and 'title="similarité 0.' in page
    assert f"/kb/{retired}\"" not in page
    answer_box = page.split('id="answer"', 1)[1].split("</textarea>", 1)[0]
    assert "récupérer auprès du locataire" in answer_box


def test_approve_publishes_a_new_entry_found_by_the_next_search(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    ticket_id = make_ticket(admin_knowledge, "Un gardien d'immeuble peut-il être logé "
                                             "gratuitement par le bailleur social ?")
    answer = ("Oui : le logement de fonction du gardien est un avantage en nature prévu par "
              "la convention collective des gardiens d'immeubles.")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": answer, "publication": "new",
            "question": "Le gardien d'immeuble peut-il bénéficier d'un logement de fonction ?",
            "theme": "Management et RH", "references": "Convention collective des gardiens\n"})
        assert response.status_code == 303
        page = client.get(response.headers["location"]).text
        result = admin_knowledge.similar("logement de fonction pour le gardien", k=3)
    ticket = _ticket(admin_knowledge, ticket_id)
    assert ticket.status == "answered" and ticket.entry_id is not None
    assert "envoie au demandeur" in page
    assert result.hits and result.hits[0].entry_id == ticket.entry_id
    with admin_knowledge.session() as session:
        sent = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)).one()
        entry = session.get(KnowledgeEntry, ticket.entry_id)
        assert entry is not None and entry.legal_references == [
            "Convention collective des gardiens"]
    # The message carries the references, one per line, and the adviser's signature.
    assert sent.kind == "answer" and sent.text == (
        f"{answer}\n\nRéférences :\nConvention collective des gardiens\n\n"
        "— Camille, SVP de l'AR Hlm")


def test_approve_can_revise_the_suggested_entry(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    ticket_id = make_ticket(admin_knowledge, "La TEOM se récupère-t-elle sur le locataire ?")
    new_answer = TEOM_A + " Les frais de gestion de la taxe ne sont pas récupérables."
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": new_answer, "publication": "update",
            "entry_id": str(teom),
            "question": "La TEOM se récupère-t-elle sur le locataire ?"})
        history = client.get(f"/kb/{teom}").text
    assert response.status_code == 303
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, teom)
        assert entry is not None and entry.revision == 2 and entry.answer == new_answer
        assert entry.question == TEOM_Q
    assert "Révision 1" in history


def test_send_without_publishing_leaves_the_knowledge_base_alone(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question ponctuelle sans intérêt général")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Réponse ponctuelle.", "publication": "none"})
    assert _ticket(admin_knowledge, ticket_id).status == "answered"
    assert _count(admin_knowledge, KnowledgeEntry) == 0
    assert _count(admin_knowledge, Outbox) == 1


def test_near_duplicate_warns_and_offers_to_update_the_existing_entry(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    ticket_id = make_ticket(admin_knowledge, "Qui paie la TEOM ?")
    form = {"answer": TEOM_A, "publication": "new", "question": TEOM_Q}
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        warned = client.post(f"/tickets/{ticket_id}/approve", data={**form, "csrf_token": csrf})
        assert warned.status_code == 409
        assert "presque la même chose" in warned.text
        assert f"Mettre à jour la fiche n° {teom}" in warned.text
        assert _ticket(admin_knowledge, ticket_id).status == "new"
        assert _count(admin_knowledge, KnowledgeEntry) == 1
        confirmed = client.post(f"/tickets/{ticket_id}/approve", data={
            **form, "csrf_token": csrf, "confirm_duplicate": "1"})
    assert confirmed.status_code == 303
    assert _count(admin_knowledge, KnowledgeEntry) == 2


def test_failure_in_the_middle_of_approve_writes_nothing(
        admin_knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Un locataire peut-il sous-louer son HLM ?")

    def broken(**_kwargs: object) -> None:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(outbox, "enqueue", broken)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        with pytest.raises(RuntimeError):
            client.post(f"/tickets/{ticket_id}/approve", data={
                "csrf_token": csrf, "answer": "La sous-location d'un logement social est "
                "interdite, sauf exceptions prévues par la loi.", "publication": "new",
                "question": "La sous-location d'un logement HLM est-elle permise ?"})
    ticket = _ticket(admin_knowledge, ticket_id)
    assert ticket.status == "new" and ticket.entry_id is None
    assert _count(admin_knowledge, KnowledgeEntry) == 0
    assert _count(admin_knowledge, EntryEmbedding) == 0
    assert _count(admin_knowledge, IndexChange) == 0
    assert _count(admin_knowledge, Outbox) == 0
    assert _count(admin_knowledge, TicketMessage) == 1


def test_adviser_cannot_act_on_a_ticket_of_another_adviser(admin_knowledge: Knowledge) -> None:
    owner = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "dominique")
    ticket_id = make_ticket(admin_knowledge, "Question attribuée à Camille",
                            status="in_review", assigned_to_id=owner)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "dominique")
        responses = [
            client.post(f"/tickets/{ticket_id}/approve", data={
                "csrf_token": csrf, "answer": "Réponse pirate.", "publication": "none"}),
            client.post(f"/tickets/{ticket_id}/reject", data={
                "csrf_token": csrf, "message": "Hors champ."}),
            client.post(f"/tickets/{ticket_id}/assign", data={"csrf_token": csrf}),
            client.post(f"/tickets/{ticket_id}/clarify", data={
                "csrf_token": csrf, "message": "Précisez."}),
        ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    ticket = _ticket(admin_knowledge, ticket_id)
    assert ticket.status == "in_review" and ticket.assigned_to_id == owner
    assert _count(admin_knowledge, Outbox) == 0


def test_admin_may_take_over_a_ticket_of_another_adviser(admin_knowledge: Knowledge) -> None:
    owner = make_user(admin_knowledge, "camille")
    admin_id = make_user(admin_knowledge, "root", role="admin")
    ticket_id = make_ticket(admin_knowledge, "Question à reprendre", status="in_review",
                            assigned_to_id=owner)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        response = client.post(f"/tickets/{ticket_id}/assign", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert _ticket(admin_knowledge, ticket_id).assigned_to_id == admin_id


def test_closed_ticket_cannot_be_answered_again(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question déjà close", status="answered")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Encore une réponse.", "publication": "none"})
    assert response.status_code == 409
    assert "plus possible" in response.text
    assert _count(admin_knowledge, Outbox) == 0


def test_clarification_and_rejection_reach_the_asker_through_the_outbox(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    asked = make_ticket(admin_knowledge, "Question floue")
    refused = make_ticket(admin_knowledge, "Question sur mes impôts personnels")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{asked}/assign", data={"csrf_token": csrf})
        client.post(f"/tickets/{asked}/clarify", data={
            "csrf_token": csrf, "message": "De quel type de logement s'agit-il ?"})
        client.post(f"/tickets/{refused}/reject", data={
            "csrf_token": csrf, "message": "Cette question ne relève pas du SVP."})
    assert _ticket(admin_knowledge, asked).status == "waiting_asker"
    assert _ticket(admin_knowledge, refused).status == "rejected"
    with admin_knowledge.session() as session:
        kinds = sorted(session.scalars(select(Outbox.kind)))
    assert _count(admin_knowledge, EntryRevision) == 0
    assert kinds == ["clarification", "rejection"]


def test_ticket_page_shows_an_answer_that_could_not_be_delivered(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    asker_id = make_asker(admin_knowledge)
    ticket_id = make_ticket(admin_knowledge, "Question sur le dépôt de garantie",
                            asker_id=asker_id)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Deux mois au plus.", "publication": "none"})
        with admin_knowledge.session() as session:
            sent = outbox.list_for_ticket(session=session, ticket_id=ticket_id)
            assert [row.kind for row in sent] == ["answer"]
            outbox.mark_failed(session=session, outbox_id=sent[0].id,
                               reason="l'utilisateur a bloqué le bot")
        page = client.get(f"/tickets/{ticket_id}").text
    assert "Messages envoyés au demandeur" in page
    assert "échec" in page and "l&#39;utilisateur a bloqué le bot" in page
