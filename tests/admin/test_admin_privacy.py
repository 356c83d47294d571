"""Personal data on the web pages: findings shown, publication refused until confirmed."""

from __future__ import annotations

from admin_helpers import client_for, log_in, make_entry, make_ticket, make_user
from sqlalchemy import func, select

from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent, KnowledgeEntry, Ticket

QUESTION = ("Mme B., locataire au 3e, 4 enfants, dette de 2 300 €, n° allocataire 1234567 : "
            "peut-on demander le maintien de l'APL ?")
ANSWER = "Oui : saisissez la CAF dans les deux mois qui suivent le constat de l'impayé."


def _entries(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0)


def test_ticket_page_lists_the_findings_with_their_replacement(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
    assert "Données personnelles probables" in page
    assert "<mark>Mme B.</mark>" in page and "<mark>1234567</mark>" in page
    assert "Remplacer par [locataire]" in page and "Remplacer par [n° allocataire]" in page
    assert 'id="confirm_personal_data"' in page


def test_ticket_page_without_personal_data_hides_the_box(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Le SLS s'applique-t-il en QPV ?")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
    assert 'id="privacy-box" data-scan-url="/privacy/scan" data-fields="question answer" hidden' \
        in page


def test_publication_with_findings_needs_the_confirmation_box(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    form = {"answer": ANSWER, "publication": "new", "question": QUESTION,
            "theme": "Accès et maintien dans le logement"}
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        refused = client.post(f"/tickets/{ticket_id}/approve", data={**form, "csrf_token": csrf})
        assert refused.status_code == 409
        assert "données personnelles probables" in refused.text
        assert ANSWER.replace("'", "&#39;") in refused.text  # what was typed comes back
        assert 'data-publication-chosen="1"' in refused.text  # and the choice made
        assert _entries(admin_knowledge) == 0
        confirmed = client.post(f"/tickets/{ticket_id}/approve", data={
            **form, "csrf_token": csrf, "confirm_personal_data": "1"})
    assert confirmed.status_code == 303
    assert _entries(admin_knowledge) == 1
    with admin_knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.confirm")).one()
        assert event.details == {"personal_data": {"person": 1, "allocataire": 1}}


def test_replaced_text_is_published_without_confirmation(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    cleaned = QUESTION.replace("Mme B.", "[locataire]").replace("1234567", "[n° allocataire]")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": ANSWER, "publication": "new", "question": cleaned})
    assert response.status_code == 303
    with admin_knowledge.session() as session:
        entry = session.scalars(select(KnowledgeEntry)).one()
        assert entry.question == cleaned


def test_scan_endpoint_returns_findings_with_offsets(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post("/privacy/scan", data={
            "csrf_token": csrf, "answer": "Écrire à nadia.k@gmail.com", "question": ""})
        forged = client.post("/privacy/scan", data={"answer": "x"})
        oversized = client.post("/privacy/scan", data={"csrf_token": csrf,
                                                        "answer": "a" * 200_001})
    assert response.status_code == 200
    assert response.json()["findings"] == [{
        "field": "answer", "field_label": "réponse", "kind": "email",
        "label": "adresse électronique", "start": 9, "end": 26, "text": "nadia.k@gmail.com",
        "placeholder": "[courriel]", "before": "Écrire à ", "after": ""}]
    assert forged.status_code in (400, 403)
    assert oversized.status_code == 422


def test_scan_endpoint_needs_a_login(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge) as client:
        response = client.post("/privacy/scan", data={"answer": "Mme B."})
    assert response.status_code in (303, 401, 403)


def test_entry_edit_with_a_name_needs_confirmation(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la TEOM ?", "Le propriétaire.")
    answer = "Le propriétaire ; voir le cas de M. Dupont, 12 rue des Lilas, 13003 Marseille."
    form = {"question": "Qui paie la TEOM ?", "answer": answer, "reason": "exemple"}
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        shown = client.get(f"/kb/{entry_id}/edit").text
        refused = client.post(f"/kb/{entry_id}/edit", data={**form, "csrf_token": csrf})
        assert refused.status_code == 409
        assert "<mark>M. Dupont</mark>" in refused.text
        assert "<mark>12 rue des Lilas, 13003 Marseille</mark>" in refused.text
        assert 'value="exemple"' in refused.text  # the reason typed comes back too
        with admin_knowledge.session() as session:
            entry = session.get(KnowledgeEntry, entry_id)
            assert entry is not None and entry.revision == 1
        saved = client.post(f"/kb/{entry_id}/edit", data={
            **form, "csrf_token": csrf, "confirm_personal_data": "1"})
    assert 'id="privacy-box" data-scan-url="/privacy/scan" data-fields="question answer" hidden' \
        in shown
    assert saved.status_code == 303
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None and entry.revision == 2 and entry.answer == answer
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "privacy.confirm")).one()
        assert event.object_type == "entry"
        assert event.details == {"personal_data": {"person": 1, "address": 1}}


def test_restoring_a_revision_with_a_name_needs_confirmation(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    entry_id = make_entry(admin_knowledge, "Qui paie la TEOM ?",
                          "Le propriétaire, comme l'a rappelé Mme Lopez.")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        cleaned = client.post(f"/kb/{entry_id}/edit", data={
            "csrf_token": csrf, "question": "Qui paie la TEOM ?",
            "answer": "Le propriétaire, comme l'a rappelé [locataire]."})
        assert cleaned.status_code == 303
        page = client.get(f"/kb/{entry_id}").text
        refused = client.post(f"/kb/{entry_id}/restore", data={"csrf_token": csrf,
                                                                "revision": "1"})
        assert refused.status_code == 409 and "La révision 1 contient" in refused.text
        restored = client.post(f"/kb/{entry_id}/restore", data={
            "csrf_token": csrf, "revision": "1", "confirm_personal_data": "1"})
    assert "Données personnelles probables dans cette révision : nom de personne." in page
    assert restored.status_code == 303
    with admin_knowledge.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None and entry.revision == 3 and "Mme Lopez" in entry.answer
