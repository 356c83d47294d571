"""JSON API: the queue, a ticket, answering (exactly as the page does), notes."""

from __future__ import annotations

from typing import Any

from admin_helpers import client_for, log_in, make_asker, make_entry, make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import func, select

from knowledge.runtime import Knowledge
from knowledge.store.models import (
    AuditEvent,
    KnowledgeEntry,
    Outbox,
    Ticket,
    TicketMessage,
)

TEOM_Q = "Qui doit payer la taxe d'enlèvement des ordures ménagères dans un logement loué ?"
TEOM_A = ("La taxe d'enlèvement des ordures ménagères (TEOM) est payée par le propriétaire, "
          "qui peut la récupérer auprès du locataire dans les charges locatives.")
GARDIEN_Q = "Un gardien d'immeuble peut-il être logé gratuitement par le bailleur social ?"
GARDIEN_A = ("Oui : le logement de fonction du gardien est un avantage en nature prévu par "
             "la convention collective des gardiens d'immeubles.")


def _count(knowledge: Knowledge, model: type) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _delivery(knowledge: Knowledge, ticket_id: int) -> dict[str, Any]:
    """What the asker will receive for a ticket, and what the ticket became."""
    with knowledge.session() as session:
        sent = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)).one()
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        entry = session.get(KnowledgeEntry, ticket.entry_id) if ticket.entry_id else None
        thread = session.scalars(select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id).order_by(TicketMessage.id)).all()
        audit = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "ticket.approve", AuditEvent.object_id == str(ticket_id))
        ).one()
        return {
            "outbox": (sent.kind, sent.text, sent.formatted, sent.status, sent.buttons,
                       sent.created_by),
            "ticket": (ticket.status, ticket.assigned_to_id, ticket.theme),
            "entry": (entry.question, entry.answer, entry.theme, entry.legal_references,
                      entry.created_by) if entry else None,
            "thread": [(m.author, m.kind, m.text, m.user_id) for m in thread],
            "audit": (audit.actor, audit.details["publication"]),
        }


def test_an_answer_through_the_api_reaches_the_outbox_exactly_like_the_page(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    asker = make_asker(admin_knowledge)
    by_page = make_ticket(admin_knowledge, GARDIEN_Q, asker_id=asker)
    by_api = make_ticket(admin_knowledge, GARDIEN_Q, asker_id=asker)
    question = "Le gardien d'immeuble peut-il bénéficier d'un logement de fonction ?"
    with client_for(admin_knowledge) as browser:
        csrf = log_in(browser, "camille")
        page = browser.post(f"/tickets/{by_page}/approve", data={
            "csrf_token": csrf, "answer": GARDIEN_A, "publication": "new",
            "question": question, "theme": "Management et RH",
            "references": "Convention collective des gardiens\n"})
    assert page.status_code == 303
    with api_client(admin_knowledge) as client:
        # The page's entry now exists: the same publication is a duplicate, to confirm.
        warned = client.post(f"/api/v1/tickets/{by_api}/answer", headers=auth, json={
            "answer": GARDIEN_A, "publication": "new", "question": question,
            "theme": "Management et RH", "references": ["Convention collective des gardiens"]})
        assert warned.status_code == 409 and warned.json()["error"]["code"] == "duplicate"
        assert _count(admin_knowledge, Outbox) == 1
        response = client.post(f"/api/v1/tickets/{by_api}/answer", headers=auth, json={
            "answer": GARDIEN_A, "publication": "new", "question": question,
            "theme": "Management et RH", "references": ["Convention collective des gardiens"],
            "confirm_duplicate": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "answered" and body["entry_id"] and body["outbox_id"]
    from_page, from_api = _delivery(admin_knowledge, by_page), _delivery(admin_knowledge, by_api)
    assert from_api == from_page
    assert from_api["outbox"][1].endswith("— Camille, SVP de l'AR Hlm")
    assert _count(admin_knowledge, Outbox) == 2  # one message per answer, none lost or doubled


def test_an_answer_can_revise_an_entry_or_send_one_as_is(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    revised = make_ticket(admin_knowledge, "La TEOM se récupère-t-elle sur le locataire ?")
    as_is = make_ticket(admin_knowledge, "Qui paie la TEOM ?")
    new_answer = TEOM_A + " Les frais de gestion de la taxe ne sont pas récupérables."
    with api_client(admin_knowledge) as client:
        no_target = client.post(f"/api/v1/tickets/{revised}/answer", headers=auth,
                                json={"answer": new_answer, "publication": "update"})
        update = client.post(f"/api/v1/tickets/{revised}/answer", headers=auth, json={
            "answer": new_answer, "publication": "update", "entry_id": teom})
        sent = client.post(f"/api/v1/tickets/{as_is}/answer", headers=auth, json={
            "answer": new_answer, "publication": "none", "entry_id": teom})
        again = client.post(f"/api/v1/tickets/{as_is}/answer", headers=auth, json={
            "answer": "Encore ?"})
    assert no_target.status_code == 422 and "entry_id" in no_target.json()["error"]["message"]
    assert update.status_code == 200 and update.json()["entry_id"] == teom
    assert sent.status_code == 200 and sent.json()["entry_id"] == teom
    assert again.status_code == 409
    assert "n'est plus possible" in again.json()["error"]["message"]
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, teom)
        assert entry is not None and entry.revision == 2 and entry.answer == new_answer
        assert session.scalar(select(func.count()).select_from(Outbox)) == 2


def test_an_adviser_token_cannot_answer_a_colleagues_ticket(admin_knowledge: Knowledge) -> None:
    colleague = make_user(admin_knowledge, "dominique")
    make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "alix", role="admin")
    ticket_id = make_ticket(admin_knowledge, "Une question", status="in_review",
                            assigned_to_id=colleague)
    with api_client(admin_knowledge) as client:
        refused = client.post(f"/api/v1/tickets/{ticket_id}/answer",
                              headers=bearer(make_token(admin_knowledge, "camille")),
                              json={"answer": "Réponse."})
        taken_over = client.post(f"/api/v1/tickets/{ticket_id}/answer",
                                 headers=bearer(make_token(admin_knowledge, "alix")),
                                 json={"answer": "Réponse."})
    assert refused.status_code == 403
    assert "attribuée à un autre conseiller" in refused.json()["error"]["message"]
    assert taken_over.status_code == 200
    assert _count(admin_knowledge, Outbox) == 1


def test_the_queue_filters_like_the_page(admin_knowledge: Knowledge) -> None:
    camille = make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille", scope="read"))
    nice = make_asker(admin_knowledge, organisation="Nice Logement", departement="06")
    first = make_ticket(admin_knowledge, "Question sur le SLS", theme="SLS")
    mine = make_ticket(admin_knowledge, "Question sur la TEOM", status="in_review",
                       assigned_to_id=camille, asker_id=nice)
    closed = make_ticket(admin_knowledge, "Question close", status="answered")
    with api_client(admin_knowledge) as client:
        def ids(**params: Any) -> list[int]:
            response = client.get("/api/v1/tickets", params=params, headers=auth)
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        assert ids() == [first, mine]
        assert ids(status="all") == [first, mine, closed]
        assert ids(status="answered") == [closed]
        assert ids(assigned="me") == [mine]
        assert ids(assigned="none") == [first]
        assert ids(assigned=str(camille)) == [mine]
        assert ids(theme="SLS") == [first]
        assert ids(departement="6") == [mine]
        assert ids(text="teom") == [mine]
        assert ids(text=str(closed), status="all") == [closed]
        listed = client.get("/api/v1/tickets", headers=auth).json()
        bad = [client.get("/api/v1/tickets", params=params, headers=auth).status_code
               for params in ({"status": "perdu"}, {"assigned": "quelqu'un"},
                              {"departement": "99"}, {"page": 0}, {"feedback": "bof"})]
    assert listed["total"] == 2 and listed["pages"] == 1
    item = listed["items"][1]
    assert item["assigned_to"] == "camille" and item["organisation"] == "Nice Logement"
    assert item["badge"] == "ok"
    assert bad == [422] * 5


def test_a_ticket_comes_with_its_thread_and_suggestions(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    ticket_id = make_ticket(admin_knowledge, "Qui paie la TEOM dans un logement loué ?")
    with api_client(admin_knowledge) as client:
        note = client.post(f"/api/v1/tickets/{ticket_id}/note", headers=auth,
                           json={"text": "À vérifier avec le service juridique."})
        body = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth).json()
        missing = client.get("/api/v1/tickets/424242", headers=auth)
        empty_note = client.post(f"/api/v1/tickets/{ticket_id}/note", headers=auth,
                                 json={"text": " \u0000 "})
    assert note.status_code == 201 and note.json()["kind"] == "internal_note"
    assert [m["kind"] for m in body["messages"]] == ["question", "internal_note"]
    assert body["suggestions"][0]["entry_id"] == teom and body["suggestions_error"] is None
    assert body["deliveries"] == [] and body["status"] == "new"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert empty_note.status_code == 422 and "La note est vide" in \
        empty_note.json()["error"]["message"]
    assert _count(admin_knowledge, Outbox) == 0  # a note is never sent to the asker


def test_a_colleague_may_note_but_not_answer_through_the_api_as_on_the_page(
        admin_knowledge: Knowledge) -> None:
    dominique = make_user(admin_knowledge, "dominique")
    make_user(admin_knowledge, "camille")
    assigned = make_ticket(admin_knowledge, "Question de Dominique", status="in_review",
                           assigned_to_id=dominique)
    closed = make_ticket(admin_knowledge, "Question close", status="answered")
    auth = bearer(make_token(admin_knowledge, "camille"))
    reader = bearer(make_token(admin_knowledge, "camille", scope="read", name="lecture"))
    with api_client(admin_knowledge) as client:
        before = client.get(f"/api/v1/tickets/{assigned}", headers=auth).json()
        noted = client.post(f"/api/v1/tickets/{assigned}/note", headers=auth,
                            json={"text": "Voir le cas n° 12, très proche."})
        refused = client.post(f"/api/v1/tickets/{assigned}/answer", headers=auth,
                              json={"answer": "Réponse."})
        closed_detail = client.get(f"/api/v1/tickets/{closed}", headers=auth).json()
        noted_closed = client.post(f"/api/v1/tickets/{closed}/note", headers=auth,
                                   json={"text": "Le demandeur a rappelé."})
        read_only = client.get(f"/api/v1/tickets/{closed}", headers=reader).json()
    assert (before["can_answer"], before["can_note"]) == (False, True)
    assert noted.status_code == 201 and refused.status_code == 403
    assert (closed_detail["can_answer"], closed_detail["can_note"]) == (False, True)
    assert noted_closed.status_code == 201
    assert (read_only["can_answer"], read_only["can_note"]) == (False, False)
    assert _count(admin_knowledge, Outbox) == 0
