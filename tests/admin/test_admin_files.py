"""Files in the desk: listed on the ticket, downloaded never inline, attached to answers."""

from __future__ import annotations

import sample_files
from admin_helpers import client_for, log_in, make_entry, make_ticket, make_user
from sqlalchemy import select

from admin.headers import CONTENT_SECURITY_POLICY
from knowledge.desk import attachments
from knowledge.desk.attachments import AttachmentLimits, Upload
from knowledge.runtime import Knowledge
from knowledge.store.mail_models import Attachment
from knowledge.store.models import Outbox, Ticket

QUESTION = "Un gardien d'immeuble peut-il être logé gratuitement par le bailleur social ?"
ANSWER = "Oui : voici le modèle de convention d'occupation à adapter."


def _upload(knowledge: Knowledge, ticket_id: int, name: str, data: bytes) -> int:
    [accepted] = attachments.check(uploads=[Upload(name, None, data)],
                                   limits=AttachmentLimits())
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return attachments.store(session=session, ticket_id=ticket_id,
                                 ticket_message_id=ticket.messages[0].id, upload=accepted,
                                 source="telegram", created_by="asker:1").id


def test_the_ticket_lists_its_files_and_downloads_them_never_inline(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    data = b"<html><script>alert(1)</script></html>"
    file_id = _upload(admin_knowledge, ticket_id, "relevé « loyer ».csv", data)
    other_ticket = make_ticket(admin_knowledge, "Autre question ?")
    with client_for(admin_knowledge) as client:
        anonymous = client.get(f"/tickets/{ticket_id}/files/{file_id}")
        assert anonymous.status_code in (303, 401)
        log_in(client, "camille")
        page = client.get(f"/tickets/{ticket_id}").text
        assert f'href="/tickets/{ticket_id}/files/{file_id}"' in page
        assert "relevé « loyer ».csv" in page and "tableau CSV" in page
        response = client.get(f"/tickets/{ticket_id}/files/{file_id}")
        # Another ticket's number does not open this file.
        assert client.get(f"/tickets/{other_ticket}/files/{file_id}").status_code == 404
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        'attachment; filename="relev_ _ loyer _.csv"; '
        "filename*=UTF-8''relev%C3%A9%20%C2%AB%20loyer%20%C2%BB.csv")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "no-store" in response.headers["cache-control"]


def test_an_answer_with_a_file_queues_it_and_can_keep_it_in_the_entry(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    letter = sample_files.docx("Convention d'occupation")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": ANSWER, "publication": "new", "question": QUESTION,
            "files_to_entry": "1"},
            files=[("files", ("convention.docx", letter, "application/octet-stream"))])
        assert response.status_code == 303, response.text
        with admin_knowledge.session() as session:
            entry_id = session.get(Ticket, ticket_id).entry_id  # type: ignore[union-attr]
            documents = attachments.for_entry(session=session, entry_id=entry_id or 0)
            assert [d.filename for d in documents] == ["convention.docx"]
            document_id = documents[0].id
        entry_page = client.get(f"/kb/{entry_id}").text
        assert f'href="/kb/{entry_id}/files/{document_id}"' in entry_page
        downloaded = client.get(f"/kb/{entry_id}/files/{document_id}")
    assert downloaded.content == letter
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    with admin_knowledge.session() as session:
        [sent] = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id))
        assert (sent.direction, sent.source, sent.created_by) == ("out", "adviser",
                                                                  "user:camille")
        row = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)).one()
        assert row.attachment_ids == [sent.id]


def test_a_refused_file_refuses_the_whole_answer_in_french(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        response = client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": ANSWER, "publication": "none"},
            files=[("files", ("modele.pdf", sample_files.pdf(), "application/pdf")),
                   ("files", ("outil.pdf", sample_files.exe(), "application/pdf"))])
        page = client.get(response.headers["location"]).text if response.status_code == 303 \
            else response.text
    assert "« outil.pdf » : le contenu ne correspond pas à un fichier .pdf" in page
    assert "Rien n&#39;a été envoyé" in page or "Rien n'a été envoyé" in page
    with admin_knowledge.session() as session:
        assert session.get(Ticket, ticket_id).status == "new"  # type: ignore[union-attr]
        assert session.scalars(select(Attachment)).all() == []
        assert session.scalars(select(Outbox).where(Outbox.ticket_id == ticket_id)).all() == []


def test_a_follow_up_carries_its_files_and_the_form_needs_its_csrf_token(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": ANSWER, "publication": "none"})
        forged = client.post(f"/tickets/{ticket_id}/follow-up", data={"text": "Le plan."},
                             files=[("files", ("plan.png", sample_files.png(), "image/png"))])
        assert forged.status_code == 403
        response = client.post(f"/tickets/{ticket_id}/follow-up", data={
            "csrf_token": csrf, "text": "Le plan."},
            files=[("files", ("plan.png", sample_files.png(), "image/png"))])
        assert response.status_code == 303
    with admin_knowledge.session() as session:
        [sent] = session.scalars(select(Attachment))
        row = session.scalars(select(Outbox).where(Outbox.kind == "follow_up")).one()
        assert row.attachment_ids == [sent.id] and sent.filename == "plan.png"


def test_an_entry_keeps_no_document_unless_asked(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_entry(admin_knowledge, "Question sans rapport ?", "Réponse sans rapport.")
    ticket_id = make_ticket(admin_knowledge, QUESTION)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        client.post(f"/tickets/{ticket_id}/approve", data={
            "csrf_token": csrf, "answer": ANSWER, "publication": "new", "question": QUESTION},
            files=[("files", ("plan.png", sample_files.png(), "image/png"))])
    with admin_knowledge.session() as session:
        assert session.scalars(select(Attachment).where(
            Attachment.entry_id.is_not(None))).all() == []
