"""The adviser's desk through the web: trustworthy drafts, long answers kept on error, notes,
follow-ups, feedback, the queue's search and pages, delivery truth, invite links, templates."""

from __future__ import annotations

import re

from admin_helpers import (
    client_for,
    log_in,
    make_asker,
    make_entry,
    make_ticket,
    make_user,
)
from sqlalchemy import func, select

from admin.config import AdminConfig
from knowledge.desk import heartbeat, outbox, tickets
from knowledge.people import organisations
from knowledge.runtime import Knowledge
from knowledge.store.models import Outbox, OutboxKind, Ticket, TicketMessage

TEOM_Q = "Qui doit payer la taxe d'enlèvement des ordures ménagères dans un logement loué ?"
TEOM_A = ("La taxe d'enlèvement des ordures ménagères (TEOM) est payée par le propriétaire, "
          "qui peut la récupérer auprès du locataire dans les charges locatives.")


def _answer_box(page: str) -> str:
    return page.split('id="answer"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]


def _outbox(knowledge: Knowledge, ticket_id: int) -> list[Outbox]:
    with knowledge.session() as session:
        return list(session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)
                                    .order_by(Outbox.id)))


def test_uncovered_question_opens_with_an_empty_draft_and_suggestions_can_be_taken(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    teom = make_entry(admin_knowledge, TEOM_Q, TEOM_A)
    ticket_id = make_ticket(admin_knowledge, "Le locataire doit-il rembourser la TEOM ?")
    admin_knowledge.abstain_threshold_setting = 0.999  # nothing reaches it: uncovered
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
        taken = client.get(f"/tickets/{ticket_id}?take={teom}").text
    assert _answer_box(page).strip() == ""
    assert 'id="uncovered"' in page and "Reprendre cette réponse" in page
    assert "récupérer auprès du locataire" in _answer_box(taken)
    assert re.search(r'id="pub-none" name="publication" value="none" checked', taken)
    assert f'name="source_entry_id" id="source_entry_id" value="{teom}"' in taken


def test_too_long_answer_comes_back_in_the_form_with_the_error(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question longue")
    answer = "Mot " * 5_001  # 20,004 characters
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        refused = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": answer, "publication": "none",
            "references": "Art. 1"})
        # Post-redirect-get: the ticket's URL, the draft and the reason kept for the page.
        assert refused.status_code == 303
        assert refused.headers["location"].split("?")[0] == f"/tickets/{ticket_id}"
        response = client.get(refused.headers["location"])
    assert 'id="error-answer"' in response.text and "le maximum est 20000" in response.text
    assert _answer_box(response.text).strip() == answer.strip()
    assert "Art. 1</textarea>" in response.text
    assert _outbox(admin_knowledge, ticket_id) == []


def test_six_thousand_characters_answer_is_sent_signed_with_its_references(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question qui demande une longue réponse")
    answer = "\n\n".join(f"Point {n} : " + "le bailleur doit informer le locataire. " * 10
                         for n in range(15))
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        preview = client.post(f"/tickets/{ticket_id}/preview", data={
            "csrf_token": csrf, "answer": "**Oui**\n" + answer, "references": "CCH L. 442-1"})
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": answer, "publication": "none",
            "references": "CCH L. 442-1"})
    assert preview.status_code == 200
    data = preview.json()
    assert len(data["parts"]) == 2 and data["parts"][0].startswith("<b>Oui</b>")
    assert data["parts"][-1].endswith("— Camille, SVP de l'AR Hlm")
    assert response.status_code == 303
    [sent] = _outbox(admin_knowledge, ticket_id)
    assert sent.formatted and sent.text.startswith(answer.strip())
    assert sent.text.endswith("Références :\nCCH L. 442-1\n\n— Camille, SVP de l'AR Hlm")


def test_draft_note_follow_up_and_feedback_on_the_ticket_page(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    asker_id = make_asker(admin_knowledge)
    ticket_id = make_ticket(admin_knowledge, "Question suivie", asker_id=asker_id)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        saved = client.post(f"/tickets/{ticket_id}/draft", data={
            "csrf_token": csrf, "answer": "Brouillon en cours", "publication": "new"})
        draft_page = client.get(f"/tickets/{ticket_id}").text
        client.post(f"/tickets/{ticket_id}/note", data={"csrf_token": csrf,
                                                        "text": "Vérifier le décret."})
        early = client.post(f"/tickets/{ticket_id}/follow-up", data={
            "csrf_token": csrf, "text": "Trop tôt"})
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Réponse.", "publication": "none"})
        followed = client.post(f"/tickets/{ticket_id}/follow-up", data={
            "csrf_token": csrf, "text": "Complément : le décret est paru."})
        with admin_knowledge.session() as session:
            tickets.record_feedback(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                    value=-1, comment="Il manque le cas des foyers.")
        page = client.get(f"/tickets/{ticket_id}").text
        unhappy = client.get("/queue?status=all&feedback=down").text
        happy = client.get("/queue?status=all&feedback=up").text
    assert saved.status_code == 303 and "Brouillon en cours" in _answer_box(draft_page)
    assert early.status_code == 409 and "Trop tôt</textarea>" in early.text
    assert followed.status_code == 303
    assert "Vérifier le décret." in page and "note interne — jamais envoyée" in page
    assert [row.kind for row in _outbox(admin_knowledge, ticket_id)] == ["answer", "follow_up"]
    assert all("décret" not in row.text or row.kind == "follow_up"
               for row in _outbox(admin_knowledge, ticket_id))
    assert "👎" in page and "Il manque le cas des foyers." in page
    assert f"/tickets/{ticket_id}\"" in unhappy and f"/tickets/{ticket_id}\"" not in happy


def test_queue_search_pages_asker_column_live_updates_and_menu_count(
        admin_knowledge: Knowledge) -> None:
    camille = make_user(admin_knowledge, "camille")
    asker_id = make_asker(admin_knowledge)
    for number in range(55):
        make_ticket(admin_knowledge, f"Question {number} sur les charges", asker_id=asker_id)
    surloyer = make_ticket(admin_knowledge, "Le surloyer s'applique-t-il ?",
                           asker_id=asker_id, assigned_to_id=camille, status="in_review")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        first = client.get("/queue").text
        second = client.get("/queue?page=2").text
        found = client.get("/queue?q=surloyer").text
        updates = client.get(f"/queue/updates?since={surloyer - 2}").json()
    assert "56 question(s), page 1 sur 2" in first and "Page suivante" in first
    assert f"/tickets/{surloyer}\"" in second and f"/tickets/{surloyer}\"" not in first
    assert "1 question(s)" in found and "Demandeur" in found
    with admin_knowledge.session() as session:
        asker_name = session.scalar(select(Ticket).where(Ticket.id == surloyer)).asker.full_name
    assert asker_name and asker_name in found
    assert updates == {"latest": surloyer, "new": 2, "mine": 1}
    assert re.search(r'id="my-count">1<', first)


def test_delivery_state_says_when_the_bot_is_not_running(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question en attente d'envoi")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/clarify", data={
            "csrf_token": csrf, "message": "Quel est le montant ?"})
        stopped = client.get(response.headers["location"]).text
        with admin_knowledge.session() as session:
            heartbeat.beat(session=session)
        running = client.get(f"/tickets/{ticket_id}").text
        with admin_knowledge.session() as session:
            [row] = outbox.list_for_ticket(session=session, ticket_id=ticket_id)
            outbox.record_part_sent(session=session, outbox_id=row.id, telegram_message_id=1)
            outbox.record_part_sent(session=session, outbox_id=row.id, telegram_message_id=2)
            outbox.mark_sent(session=session, outbox_id=row.id)
        sent = client.get(f"/tickets/{ticket_id}").text
    assert "a été envoyée" not in stopped and "est enregistrée" in stopped
    assert 'id="bot-down"' in stopped and "aucun signe de vie" in stopped
    assert "pas encore envoyé" in stopped
    assert 'id="bot-down"' not in running and "dans quelques secondes" in running
    assert "en 2 parties" in sent and "pas encore envoyé" not in sent


def test_invite_code_shows_its_telegram_link_and_qr_code(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:
        org = organisations.create(session=session, name="Habitat QR",
                                   kind=organisations.parse_kind("oph"), departement="13",
                                   actor="test")
        code = organisations.new_invite_code(session=session, organisation_id=org.id,
                                             actor="test")
        org_id = org.id
    with client_for(admin_knowledge, AdminConfig(bot_username="@svp_paca_bot")) as client:
        log_in(client, "camille")
        page = client.get(f"/organisations/{org_id}").text
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        unnamed = client.get(f"/organisations/{org_id}").text
    assert f'href="https://t.me/svp_paca_bot?start={code}"' in page
    assert "<svg" in page and "approuve automatiquement" in page
    assert "t.me/" not in unnamed and "SVP_TELEGRAM_BOT_USERNAME" in unnamed


def test_reply_templates_page_and_confirmations(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_asker(admin_knowledge, status="pending")
    ticket_id = make_ticket(admin_knowledge, "Question avec modèle")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        created = client.post("/templates", data={"csrf_token": csrf, "title": "Accueil SVP",
                                                  "body": "Bonjour, **merci** !"})
        templates = client.get("/templates").text
        page = client.get(f"/tickets/{ticket_id}").text
        askers_page = client.get("/askers?status=all").text
        script = client.get("/static/desk.js")
    assert created.status_code == 303 and "Accueil SVP" in templates
    assert "<template id=\"template-" in page and "Accueil SVP</option>" in page
    assert re.search(r'id="approve-form" data-confirm="[^"]+"', page)
    assert re.search(r'/reject" data-confirm="[^"]+"', page)
    assert "<script>" not in page and "onclick" not in page
    assert re.search(r'/block" class="inline" data-confirm="Bloquer [^"]+"', askers_page)
    assert script.status_code == 200 and "dataset.confirm" in script.text


def test_notes_never_reach_the_outbox_even_on_closed_tickets(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question close", status="answered")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/note", data={
            "csrf_token": csrf, "text": "Le demandeur a rappelé par téléphone."})
    assert response.status_code == 303
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        kinds = list(session.scalars(select(TicketMessage.kind)
                                     .where(TicketMessage.ticket_id == ticket_id)))
    assert kinds == ["question", "internal_note"]
    assert OutboxKind.FOLLOW_UP.value == "follow_up"


def test_a_colleague_may_note_but_not_answer_a_ticket_assigned_to_another_adviser(
        admin_knowledge: Knowledge) -> None:
    dominique = make_user(admin_knowledge, "dominique")
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Question de Dominique", status="in_review",
                            assigned_to_id=dominique)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
        noted = client.post(f"/tickets/{ticket_id}/note", data={
            "csrf_token": csrf, "text": "Voir le cas n° 12, très proche."})
        answered = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": "Réponse.", "publication": "none"})
    assert "attribuée à Dominique" in page and "Vous pouvez y ajouter une note interne" in page
    assert f'action="/tickets/{ticket_id}/note"' in page
    assert f'action="/tickets/{ticket_id}/approve"' not in page
    assert noted.status_code == 303
    assert "attribuée à un autre conseiller" in answered.text
    with admin_knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "in_review"
        kinds = list(session.scalars(select(TicketMessage.kind)
                                     .where(TicketMessage.ticket_id == ticket_id)))
    assert kinds == ["question", "internal_note"]
    assert _outbox(admin_knowledge, ticket_id) == []
