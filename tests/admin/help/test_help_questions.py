"""Help centre questions (issue 23, point 5): a member asks on the web, the question joins the
advisers' queue, a precision and the answer are read under « Mes questions »; the same limits
and a personal-data warning; nobody reads another member's question or an internal note."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, make_entry, make_user
from help_helpers import sign_in_member

from admin.config import AdminConfig, HelpConfig
from knowledge.desk import notes, review, tickets
from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, Outbox, Ticket, TicketMessage, User

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
QUESTION = ("Un locataire demande l'étalement de sa régularisation de charges sur douze mois : "
            "sommes-nous obligés d'accepter ?")


def _config(per_minute: int = 5) -> AdminConfig:
    return AdminConfig(secret_sealer=SEALER,
                       help=HelpConfig(questions_per_minute=per_minute, questions_per_day=30))


def _member(knowledge: Knowledge, client: TestClient, email: str) -> str:
    """Sign a member in; return the CSRF token of their pages."""
    sign_in_member(knowledge, client, email)
    found = CSRF.search(client.get("/aide/questions/nouvelle").text)
    assert found
    return found.group(1)


def _ask(client: TestClient, token: str, text: str, **extra: str) -> int:
    response = client.post("/aide/questions", data={"text": text, "csrf_token": token, **extra})
    return response.status_code


def _adviser(knowledge: Knowledge) -> User:
    user_id = make_user(knowledge, "camille")
    with knowledge.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def test_a_member_asks_on_the_web_and_reads_the_precision_and_the_answer_there(
        admin_knowledge: Knowledge) -> None:
    make_entry(admin_knowledge, "Peut-on étaler une régularisation de charges ?",
               "Le locataire peut demander l'étalement sur douze mois (art. 23 loi 1989).")
    adviser = _adviser(admin_knowledge)
    with client_for(admin_knowledge, _config()) as client:
        token = _member(admin_knowledge, client, "claire@habitat-test.fr")
        # « Voir d'abord les réponses proches »: the nearest answers, nothing sent.
        look = client.post("/aide/questions", data={"text": QUESTION, "csrf_token": token,
                                                    "voir": "1"})
        assert look.status_code == 200 and "Ces réponses existent déjà" in look.text
        with admin_knowledge.session() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        sent = client.post("/aide/questions", data={"text": QUESTION, "csrf_token": token})
        assert sent.status_code == 303
        ticket_id = int(sent.headers["location"].split("/")[-1].split("?")[0])
        with admin_knowledge.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.channel == "web" and ticket.status == "new"
            assert ticket.suggested_entry_ids  # what the member was shown is kept
            asker = session.get(Asker, ticket.asker_id)
            assert asker is not None and asker.email == "claire@habitat-test.fr"
            assert asker.chat_id is None and asker.telegram_user_id is None

            review.request_clarification(session=session, ticket_id=ticket_id, adviser=adviser,
                                         message="De quel montant est la régularisation ?")
            notes.add_note(session=session, ticket_id=ticket_id, adviser=adviser,
                           text="Note interne : voir le bail")
        page = client.get(f"/aide/questions/{ticket_id}")
        assert "De quel montant est la régularisation ?" in page.text
        assert "précision demandée" in page.text and "Note interne" not in page.text
        reply = client.post(f"/aide/questions/{ticket_id}/reponse",
                            data={"text": "Environ 900 euros.", "csrf_token": token})
        assert reply.status_code == 303
        with admin_knowledge.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.status in ("new", "in_review")
            review.approve(session=session, ticket_id=ticket_id, adviser=adviser,
                           approval=review.Approval(answer="Oui : l'étalement est de droit.",
                                                    signature="— Camille"))
        answered = client.get(f"/aide/questions/{ticket_id}")
        assert "étalement est de droit." in answered.text and "— Camille" in answered.text
        assert "répondue" in answered.text
        assert "Réponse non envoyée" not in answered.text
        listed = client.get("/aide/questions")
        assert f'href="/aide/questions/{ticket_id}"' in listed.text and "répondue" in listed.text
        # A reply to the answer is a follow-up on the same ticket: it goes back to the adviser.
        assert client.post(f"/aide/questions/{ticket_id}/reponse",
                           data={"text": "Et pour un départ du locataire ?",
                                 "csrf_token": token}).status_code == 303
        with admin_knowledge.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.status == "in_review"
            assert ticket.assigned_to_id == adviser.id
            assert ticket.messages[-1].kind == "reopened"
            review.approve(session=session, ticket_id=ticket_id, adviser=adviser,
                           approval=review.Approval(answer="Le solde est dû au départ."))
            # Long after the answer, a reply is refused: a new question is offered instead.
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.answered_at is not None
            ticket.answered_at -= timedelta(days=tickets.REOPEN_DAYS + 1)
        assert "Poser une autre question" in client.get(f"/aide/questions/{ticket_id}").text
        assert client.post(f"/aide/questions/{ticket_id}/reponse",
                           data={"text": "Merci", "csrf_token": token}).status_code == 422
    with admin_knowledge.session() as session:
        # No Telegram chat: each message of the adviser is announced by email, to her address.
        rows = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)
                               .order_by(Outbox.id)).all()
        assert [(row.channel, row.kind, row.email_to) for row in rows] == [
            ("email", "clarification", "claire@habitat-test.fr"),
            ("email", "answer", "claire@habitat-test.fr"),
            ("email", "answer", "claire@habitat-test.fr")]
        assert rows[1].subject == f"[SVP n° {ticket_id}] Réponse à votre question"
        assert all(row.chat_id is None for row in rows)
        system = session.scalars(select(TicketMessage.text).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.author == "system")).all()
        assert system == []


def test_nobody_reads_another_member_s_question(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge, _config()) as client:
        token = _member(admin_knowledge, client, "claire@habitat-test.fr")
        assert _ask(client, token, QUESTION) == 303
        with admin_knowledge.session() as session:
            ticket_id = session.scalars(select(Ticket.id)).one()
    with client_for(admin_knowledge, _config()) as other:
        token = _member(admin_knowledge, other, "paul@habitat-test.fr")
        assert other.get(f"/aide/questions/{ticket_id}").status_code == 404
        assert other.post(f"/aide/questions/{ticket_id}/reponse",
                          data={"text": "Je lis", "csrf_token": token}).status_code == 404
        assert other.get("/aide/questions/999999").status_code == 404
        assert "Vous n'avez pas encore posé de question." in other.get(
            "/aide/questions").text


def test_personal_data_is_pointed_out_before_sending(admin_knowledge: Knowledge) -> None:
    text = "Mme Durand (06 12 34 56 78, durand@gmail.com) conteste sa régularisation."
    with client_for(admin_knowledge, _config()) as client:
        token = _member(admin_knowledge, client, "claire@habitat-test.fr")
        refused = client.post("/aide/questions", data={"text": text, "csrf_token": token})
        assert refused.status_code == 422 and 'id="personal-data"' in refused.text
        assert "06 12 34 56 78" in refused.text  # shown back, to be removed
        with admin_knowledge.session() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert _ask(client, token, text, confirm_data="1") == 303


def test_the_bot_s_limits_apply_on_the_web(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge, _config(per_minute=2)) as client:
        token = _member(admin_knowledge, client, "claire@habitat-test.fr")
        codes = [_ask(client, token, f"{QUESTION} (cas {number})") for number in range(3)]
        assert codes == [303, 303, 429]
        assert client.post("/aide/questions", data={"text": "", "csrf_token": token}
                           ).status_code == 422
    with admin_knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_a_member_downloads_the_files_of_her_question_and_no_one_else_does(
        admin_knowledge: Knowledge) -> None:
    from knowledge.desk import attachments

    with client_for(admin_knowledge, _config()) as client:
        token = _member(admin_knowledge, client, "claire@habitat-test.fr")
        assert _ask(client, token, QUESTION) == 303
        with admin_knowledge.session() as session:
            ticket = session.scalars(select(Ticket)).one()
            [accepted], _ = attachments.accept(
                uploads=[attachments.Upload("modèle de courrier.pdf", "application/pdf",
                                            b"%PDF-1.4\n%%EOF\n")],
                limits=attachments.AttachmentLimits())
            stored = attachments.store(session=session, ticket_id=ticket.id,
                                       ticket_message_id=ticket.messages[0].id,
                                       upload=accepted, source="adviser",
                                       created_by="user:camille", direction="out")
            ticket_id, file_id = ticket.id, stored.id
        page = client.get(f"/aide/questions/{ticket_id}")
        assert f'href="/aide/questions/{ticket_id}/fichiers/{file_id}"' in page.text
        got = client.get(f"/aide/questions/{ticket_id}/fichiers/{file_id}")
        assert got.status_code == 200 and got.content == b"%PDF-1.4\n%%EOF\n"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-type"] == "application/octet-stream"
        assert client.get(f"/aide/questions/{ticket_id}/fichiers/999").status_code == 404
    with client_for(admin_knowledge, _config()) as other:
        _member(admin_knowledge, other, "paul@habitat-test.fr")
        assert other.get(f"/aide/questions/{ticket_id}/fichiers/{file_id}").status_code == 404
