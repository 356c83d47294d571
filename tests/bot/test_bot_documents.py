"""Documents and photos through the real bot: questions, precisions, refusals, replays, out."""

from __future__ import annotations

from typing import Any

import pytest
import sample_files
from conftest import BotHarness, Person
from sqlalchemy import select
from telegram import Update

from bot.delivery import drain
from bot.intake import intake_of
from knowledge.desk import attachments, review
from knowledge.desk.attachments import MB, Upload
from knowledge.people import advisers
from knowledge.store.mail_models import Attachment
from knowledge.store.models import InboxUpdate, Ticket, TicketMessage, UserRole

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

QUESTION = "Le bailleur peut-il refuser ce congé envoyé par le locataire ?"


def _files(harness: BotHarness) -> list[Attachment]:
    with harness.knowledge.session() as session:
        rows = list(session.scalars(select(Attachment).order_by(Attachment.id)))
        for row in rows:
            _ = row.data  # loaded while the session is open
        return rows


def _tickets(harness: BotHarness) -> list[Ticket]:
    with harness.knowledge.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


async def _inbox(harness: BotHarness, payload: dict[str, Any]) -> None:
    intake = intake_of(harness.application)
    await intake.receive([(payload, Update.de_json(payload, harness.application.bot))])
    await intake.process_pending()


async def test_a_pdf_with_a_caption_is_a_question_with_its_file(harness: BotHarness) -> None:
    marie = Person(6001)
    harness.approved_asker(marie)
    data = sample_files.pdf("Conge du locataire")
    await _inbox(harness, harness.document(marie, data, file_name="congé.pdf",
                                           caption=QUESTION))
    [ticket] = _tickets(harness)
    assert ticket.text == QUESTION
    [stored] = _files(harness)
    assert (stored.ticket_id, stored.filename, stored.content_type, stored.direction,
            stored.source) == (ticket.id, "congé.pdf", "application/pdf", "in", "telegram")
    assert stored.data == data and stored.size == len(data)
    with harness.knowledge.session() as session:
        message = session.get(TicketMessage, stored.ticket_message_id)
        assert message is not None and message.kind == "question"
    receipt = harness.transport.texts(marie.id)[-1]
    assert f"n° {ticket.id}" in receipt and "document joint est conservé" in receipt
    assert harness.transport.downloads == [stored.telegram_file_unique_id.removeprefix("u-")]
    assert harness.errors == []


async def test_a_photo_is_stored_as_its_largest_size(harness: BotHarness) -> None:
    marie = Person(6002)
    harness.approved_asker(marie)
    data = sample_files.jpeg()
    await _inbox(harness, harness.photo(marie, data, caption=QUESTION))
    [stored] = _files(harness)
    assert stored.content_type == "image/jpeg" and stored.data == data
    assert stored.filename.startswith("photo-") and stored.filename.endswith(".jpg")
    assert harness.transport.downloads == [f"ph{harness._update_id}"]


async def test_a_replayed_update_does_not_store_the_file_twice(harness: BotHarness) -> None:
    marie = Person(6003)
    harness.approved_asker(marie)
    question = harness.document(marie, sample_files.pdf(), caption=QUESTION)
    await harness.feed(question)
    await harness.feed(question)  # Telegram delivered it again, past the inbox
    assert len(_tickets(harness)) == 1
    assert len(_files(harness)) == 1
    assert len(harness.transport.downloads) == 1  # nor fetched twice
    precision = harness.document(marie, sample_files.png(), file_name="plan.png",
                                 mime_type="image/png")
    await harness.feed(precision)
    await harness.feed(precision)
    assert [row.filename for row in _files(harness)] == ["courrier.pdf", "plan.png"]
    with harness.knowledge.session() as session:
        kinds = [m.kind for m in session.scalars(select(TicketMessage).order_by(TicketMessage.id))]
    assert kinds == ["question", "clarification"]


async def test_a_file_without_caption_joins_the_question_just_asked(harness: BotHarness) -> None:
    marie = Person(6004)
    harness.approved_asker(marie)
    await harness.say(marie, QUESTION)
    [ticket] = _tickets(harness)
    await _inbox(harness, harness.document(marie, sample_files.docx(), file_name="bail.docx",
                                           mime_type="application/msword"))
    [stored] = _files(harness)
    assert stored.ticket_id == ticket.id and stored.content_type.endswith(
        "wordprocessingml.document")
    with harness.knowledge.session() as session:
        message = session.get(TicketMessage, stored.ticket_message_id)
        assert message is not None and message.text == "Document joint : bail.docx"
    assert harness.transport.texts(marie.id)[-1] == (
        f"Merci, votre document est ajouté à la question n° {ticket.id}.")
    assert len(_tickets(harness)) == 1


async def test_a_file_without_caption_nor_open_question_asks_for_the_question(
        harness: BotHarness) -> None:
    marie = Person(6005)
    harness.approved_asker(marie)
    await _inbox(harness, harness.document(marie, sample_files.pdf()))
    assert "légende" in harness.transport.texts(marie.id)[-1]
    assert _tickets(harness) == [] and _files(harness) == []
    assert harness.transport.downloads == []  # nothing fetched for nothing


async def test_a_file_replying_to_a_clarification_request_is_the_precision(
        harness: BotHarness) -> None:
    marie = Person(6006)
    harness.approved_asker(marie)
    await harness.say(marie, QUESTION)
    [ticket] = _tickets(harness)
    with harness.knowledge.session() as session:
        adviser = advisers.create(session=session, login="lea", password="un mot de passe sûr",
                                  role=UserRole.ADVISER, display_name="Léa", actor="test")
        review.request_clarification(session=session, ticket_id=ticket.id, adviser=adviser,
                                     message="Pouvez-vous joindre le courrier ?")
    await drain(harness.application.bot, harness.knowledge)
    prompt = harness.transport.next_message_id
    await _inbox(harness, harness.document(marie, sample_files.pdf(), caption="Le voici.",
                                           reply_to=prompt))
    [stored] = _files(harness)
    with harness.knowledge.session() as session:
        message = session.get(TicketMessage, stored.ticket_message_id)
        assert message is not None and (message.kind, message.text) == ("clarification",
                                                                         "Le voici.")
        assert session.get(Ticket, ticket.id).status == "in_review"  # type: ignore[union-attr]


async def test_a_refused_file_is_explained_in_french_and_the_question_is_kept(
        harness: BotHarness) -> None:
    marie = Person(6007)
    harness.approved_asker(marie)
    await _inbox(harness, harness.document(marie, sample_files.exe(), file_name="facture.pdf",
                                           caption=QUESTION))
    [ticket] = _tickets(harness)
    assert ticket.text == QUESTION
    assert _files(harness) == []
    receipt = harness.transport.texts(marie.id)[-1]
    assert f"n° {ticket.id}" in receipt
    assert "« facture.pdf » : le contenu ne correspond pas à un fichier .pdf" in receipt
    assert harness.errors == []


async def test_a_file_too_heavy_is_refused_before_any_download(harness: BotHarness) -> None:
    marie = Person(6008)
    harness.approved_asker(marie)
    payload = harness.document(marie, b"%PDF-1.4\n" + b"0" * (30 * MB), caption=QUESTION)
    await _inbox(harness, payload)
    assert harness.transport.downloads == []
    assert "fichier trop lourd (30 Mo, maximum 10 Mo)" in harness.transport.texts(marie.id)[-1]
    assert len(_tickets(harness)) == 1 and _files(harness) == []


async def test_a_lost_telegram_file_keeps_the_question(harness: BotHarness) -> None:
    marie = Person(6009)
    harness.approved_asker(marie)
    payload = harness.document(marie, sample_files.pdf(), caption=QUESTION, file_id="gone")
    del harness.transport.files["gone"]  # Telegram no longer has it
    await _inbox(harness, payload)
    assert len(_tickets(harness)) == 1 and _files(harness) == []
    assert "impossible à récupérer" in harness.transport.texts(marie.id)[-1]
    with harness.knowledge.session() as session:
        assert all(row.processed_at is not None for row in session.scalars(select(InboxUpdate)))


async def test_an_answer_with_a_pdf_reaches_telegram_as_a_document_after_its_text(
        harness: BotHarness) -> None:
    marie = Person(6010)
    harness.approved_asker(marie)
    await harness.say(marie, QUESTION)
    [ticket] = _tickets(harness)
    letter = sample_files.pdf("Modele de reponse")
    [accepted] = attachments.check(uploads=[Upload("modèle.pdf", None, letter)],
                                   limits=attachments.AttachmentLimits())
    with harness.knowledge.session() as session:
        adviser = advisers.create(session=session, login="lea", password="un mot de passe sûr",
                                  role=UserRole.ADVISER, display_name="Léa", actor="test")
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=review.Approval(answer="Voici le modèle de courrier.",
                                                files=(accepted,)))
    await drain(harness.application.bot, harness.knowledge)
    calls = [call for call in harness.transport.calls
             if call.method in ("sendMessage", "sendDocument") and call.ok
             and int(call.params["chat_id"]) == marie.id]
    assert [call.method for call in calls[-2:]] == ["sendMessage", "sendDocument"]
    assert "Voici le modèle de courrier." in str(calls[-2].params["text"])
    assert calls[-1].files == {"modèle.pdf": letter}
    await drain(harness.application.bot, harness.knowledge)  # delivered: nothing goes again
    assert len([c for c in harness.transport.calls if c.method == "sendDocument"]) == 1


async def test_a_crash_after_the_text_sends_only_the_document(harness: BotHarness) -> None:
    from telegram.error import TimedOut

    marie = Person(6011)
    harness.approved_asker(marie)
    await harness.say(marie, QUESTION)
    [ticket] = _tickets(harness)
    [accepted] = attachments.check(uploads=[Upload("plan.png", None, sample_files.png())],
                                   limits=attachments.AttachmentLimits())
    with harness.knowledge.session() as session:
        adviser = advisers.create(session=session, login="lea", password="un mot de passe sûr",
                                  role=UserRole.ADVISER, display_name="Léa", actor="test")
        review.approve(session=session, ticket_id=ticket.id, adviser=adviser,
                       approval=review.Approval(answer="Voici le plan.", files=(accepted,)))
    harness.transport.plan("sendDocument", TimedOut())
    await drain(harness.application.bot, harness.knowledge)
    from datetime import timedelta

    from knowledge.timeutil import utcnow
    await drain(harness.application.bot, harness.knowledge, now=utcnow() + timedelta(hours=1))
    texts = [c for c in harness.transport.calls if c.method == "sendMessage" and c.ok
             and "Voici le plan." in str(c.params.get("text"))]
    documents = [c for c in harness.transport.calls if c.method == "sendDocument" and c.ok]
    assert len(texts) == 1 and len(documents) == 1
