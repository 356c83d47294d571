"""JSON API: publishing personal data needs the same explicit confirmation as the pages."""

from __future__ import annotations

from admin_helpers import make_entry, make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import func, select

from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent, KnowledgeEntry, Outbox

HOUSEHOLD = ("Mme Bernadette Lefèvre, locataire au 12 rue des Lilas à Marseille, doit 2 300 € : "
             "peut-on saisir la commission de surendettement à sa place ?")
ANSWER = ("Non : seule la personne surendettée dépose le dossier auprès de la Banque de "
          "France ; le bailleur peut l'orienter vers un travailleur social.")


def _count(knowledge: Knowledge, model: type) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_answer_publishing_personal_data_is_refused_until_confirmed(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    ticket = make_ticket(admin_knowledge, HOUSEHOLD)
    body = {"answer": ANSWER, "publication": "new", "confirm_duplicate": True}
    with api_client(admin_knowledge) as client:
        refused = client.post(f"/api/v1/tickets/{ticket}/answer", headers=auth, json=body)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "conflict" and "données personnelles" in error["message"]
        kinds = {finding["kind"] for finding in error["findings"]}
        assert {"person", "address"} <= kinds
        assert all(finding["placeholder"].startswith("[") for finding in error["findings"])
        assert _count(admin_knowledge, KnowledgeEntry) == 0
        assert _count(admin_knowledge, Outbox) == 0  # nothing half-written
        confirmed = client.post(f"/api/v1/tickets/{ticket}/answer", headers=auth,
                                json={**body, "confirm_personal_data": True})
    assert confirmed.status_code == 200, confirmed.text
    assert _count(admin_knowledge, KnowledgeEntry) == 1 and _count(admin_knowledge, Outbox) == 1
    with admin_knowledge.session() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.confirm")).one()
        assert "Lefèvre" not in str(event.details) and "Lilas" not in str(event.details)


def test_an_answer_to_the_asker_only_is_not_held_back(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    ticket = make_ticket(admin_knowledge, HOUSEHOLD)
    with api_client(admin_knowledge) as client:
        sent = client.post(f"/api/v1/tickets/{ticket}/answer", headers=auth,
                           json={"answer": "Bonjour Mme Lefèvre, " + ANSWER})
    assert sent.status_code == 200, sent.text


def test_entries_created_or_revised_with_personal_data_need_a_confirmation(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    auth = bearer(make_token(admin_knowledge, "camille"))
    entry = make_entry(admin_knowledge, "Qui dépose un dossier de surendettement ?", ANSWER)
    with api_client(admin_knowledge) as client:
        created = client.post("/api/v1/entries", headers=auth, json={
            "question": HOUSEHOLD, "answer": ANSWER, "confirm_duplicate": True})
        revised = client.patch(f"/api/v1/entries/{entry}", headers=auth, json={
            "answer": ANSWER + " Contact : bernadette.lefevre@gmail.com, 06 12 34 56 78."})
        retitled = client.patch(f"/api/v1/entries/{entry}", headers=auth, json={
            # question and answer unchanged: nothing to check
            "theme": "Gestion locative et charges"})
        confirmed = client.patch(f"/api/v1/entries/{entry}", headers=auth, json={
            "answer": ANSWER + " Contact : bernadette.lefevre@gmail.com.",
            "confirm_personal_data": True})
    assert created.status_code == 409 and created.json()["error"]["findings"]
    assert revised.status_code == 409
    assert {f["kind"] for f in revised.json()["error"]["findings"]} >= {"email", "phone"}
    assert retitled.status_code == 200 and confirmed.status_code == 200
    assert _count(admin_knowledge, KnowledgeEntry) == 1
