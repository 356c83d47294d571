"""The inbox at work: processed once, in order, replayed safely, state kept in the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import BotHarness, Person, RecordingRequest
from telegram import Update

from bot.application import build_application
from bot.delivery import drain
from bot.intake import Intake, intake_of
from knowledge.desk import inbox
from knowledge.desk import outbox as outbox_service
from knowledge.store.models import (
    InboxUpdate,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from knowledge.timeutil import utcnow

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]


def _tickets(harness: BotHarness) -> list[Ticket]:
    with harness.knowledge.session() as session:
        return list(session.query(Ticket).order_by(Ticket.id))


def _inbox(harness: BotHarness) -> list[InboxUpdate]:
    with harness.knowledge.session() as session:
        return list(session.query(InboxUpdate).order_by(InboxUpdate.id))


async def _receive(intake: Intake, *payloads: dict[str, Any]) -> list[int]:
    return await intake.receive([(payload, Update.de_json(payload, intake.application.bot))
                                 for payload in payloads])


@pytest.fixture
async def restarted(harness: BotHarness) -> AsyncIterator[BotHarness]:
    """A second bot process on the same database (as after a restart), with its own transport."""
    transport = RecordingRequest()
    application = build_application(knowledge=harness.knowledge, config=harness.config,
                                    request=transport, get_updates_request=RecordingRequest())
    await application.initialize()
    yield BotHarness(application=application, transport=transport, knowledge=harness.knowledge,
                     config=harness.config, _update_id=1000, _message_id=1000)
    await application.shutdown()


async def test_an_update_received_twice_is_processed_once(harness: BotHarness) -> None:
    marie = Person(4001)
    harness.approved_asker(marie)
    intake = intake_of(harness.application)
    question = harness.message(marie, "Un locataire peut-il sous-louer ?")
    assert await _receive(intake, question) == [question["update_id"]]
    assert await intake.process_pending() == 1
    assert await _receive(intake, question) == []  # Telegram delivered it again
    assert await intake.process_pending() == 0
    assert len(_tickets(harness)) == 1
    assert len([t for t in harness.transport.texts(marie.id) if "enregistrée" in t]) == 1
    [row] = _inbox(harness)
    assert row.processed_at is not None and row.attempts == 1


async def test_question_ticket_receipt_and_inbox_mark_are_one_unit_of_work(
        harness: BotHarness) -> None:
    marie = Person(4002)
    harness.approved_asker(marie)
    entry_id = harness.entry("Qui paie la taxe d'enlèvement des ordures ménagères ?",
                             "Le locataire, au titre des charges récupérables.")
    intake = intake_of(harness.application)
    harness.transport.plan("sendMessage", (500, {"ok": False, "error_code": 500,
                                                 "description": "Internal Server Error"}))
    await _receive(intake, harness.message(marie, "Qui paie la taxe d'ordures ménagères ?"))
    await intake.process_pending()
    [ticket] = _tickets(harness)
    [row] = _inbox(harness)
    assert row.processed_at is not None
    with harness.knowledge.session() as session:
        [receipt] = session.query(Outbox).filter_by(kind=OutboxKind.RECEIPT.value).all()
        assert receipt.ticket_id == ticket.id and receipt.status == OutboxStatus.PENDING.value
    # Telegram failed the receipt: the delivery job sends it later, with its buttons.
    await drain(harness.application.bot, harness.knowledge, now=utcnow() + timedelta(hours=1))
    [text] = [t for t in harness.transport.texts(marie.id) if "enregistrée" in t]
    assert f"n° {ticket.id}" in text
    buttons = harness.transport.last_markup(marie.id)["inline_keyboard"]
    assert buttons[0][0]["callback_data"] == f"see:{ticket.id}:{entry_id}"
    assert buttons[-1][0]["callback_data"] == f"solved:{ticket.id}"


async def test_a_replayed_question_is_stored_and_acknowledged_once(harness: BotHarness) -> None:
    marie = Person(4003)
    harness.approved_asker(marie)
    question = harness.message(marie, "Un locataire peut-il refuser une visite ?")
    await harness.feed(question)
    await harness.feed(question)  # the same Telegram message once more (e.g. after pruning)
    assert len(_tickets(harness)) == 1
    assert len([t for t in harness.transport.texts(marie.id) if "enregistrée" in t]) == 1


async def test_unprocessed_updates_are_replayed_after_a_restart_in_arrival_order(
        harness: BotHarness, restarted: BotHarness) -> None:
    marie, paul = Person(4004), Person(4005, first_name="Paul")
    harness.approved_asker(marie)
    harness.approved_asker(paul)
    first = harness.message(marie, "Première question de Marie ?")
    other = harness.message(paul, "Question de Paul ?")
    second = harness.message(marie, "Seconde question de Marie ?")
    # Committed by the process that then died before processing anything.
    await _receive(intake_of(harness.application), first, other, second)
    assert _tickets(harness) == []
    assert await intake_of(restarted.application).process_pending() == 3
    assert [(t.telegram_chat_id, t.text) for t in _tickets(harness)] == [
        (marie.id, "Première question de Marie ?"), (paul.id, "Question de Paul ?"),
        (marie.id, "Seconde question de Marie ?")]
    assert all(row.processed_at is not None for row in _inbox(harness))


def _suggested(harness: BotHarness, ticket_id: int) -> None:
    """Record an entry as shown on the ticket: the buttons below it are then genuine."""
    with harness.knowledge.session() as session:
        session.get(Ticket, ticket_id).suggested_entry_ids = [1]  # type: ignore[union-attr]


def _answered(harness: BotHarness, ticket_id: int) -> None:
    """Mark the ticket answered: its 👍 / 👎 buttons are then genuine."""
    with harness.knowledge.session() as session:
        session.get(Ticket, ticket_id).status = TicketStatus.ANSWERED.value  # type: ignore


async def test_waiting_button_pressed_twice_or_replayed_does_one_thing(
        harness: BotHarness) -> None:
    marie = Person(4006)
    harness.approved_asker(marie)
    await harness.say(marie, "Comment est calculé le SLS ?")
    [ticket] = _tickets(harness)
    _suggested(harness, ticket.id)
    press = harness.press(marie, f"wait:{ticket.id}")
    before = len(harness.transport.texts(marie.id))
    await harness.feed(press)
    await harness.feed(press)  # the same callback query replayed
    await harness.click(marie, f"wait:{ticket.id}")  # and the button pressed again
    assert len(harness.transport.texts(marie.id)) == before + 1
    with harness.knowledge.session() as session:
        waiting = session.query(TicketMessage).filter_by(ticket_id=ticket.id,
                                                         kind="waiting").count()
    assert waiting == 1
    answered = [c for c in harness.transport.calls if c.method == "answerCallbackQuery"]
    assert len(answered) == 3  # every press still gets its spinner stopped


async def test_solved_button_replayed_closes_once_and_confirms_once(harness: BotHarness) -> None:
    marie = Person(4007)
    harness.approved_asker(marie)
    await harness.say(marie, "Comment est calculé le SLS ?")
    [ticket] = _tickets(harness)
    _suggested(harness, ticket.id)
    press = harness.press(marie, f"solved:{ticket.id}")
    await harness.feed(press)
    await harness.feed(press)
    assert len([t for t in harness.transport.texts(marie.id) if "est close" in t]) == 1
    with harness.knowledge.session() as session:
        closed = session.query(TicketMessage).filter_by(ticket_id=ticket.id,
                                                        kind="self_served").count()
    assert closed == 1 and _tickets(harness)[0].status == TicketStatus.SELF_SERVED.value


async def test_replayed_clarification_reply_joins_the_thread_once(harness: BotHarness) -> None:
    marie = Person(4008)
    asker_id = harness.approved_asker(marie)
    await harness.say(marie, "Un locataire peut-il refuser une mutation ?")
    [ticket] = _tickets(harness)
    with harness.knowledge.session() as session:
        session.get(Ticket, ticket.id).status = TicketStatus.WAITING_ASKER.value  # type: ignore
        row_id = outbox_service.enqueue(
            session=session, kind=OutboxKind.CLARIFICATION, chat_id=marie.id,
            text="De quel type de mutation s'agit-il ?", created_by="conseiller",
            asker_id=asker_id, ticket_id=ticket.id).id
    await drain(harness.application.bot, harness.knowledge)
    with harness.knowledge.session() as session:
        [message_id] = session.get(Outbox, row_id).telegram_message_ids  # type: ignore[union-attr]
    reply = harness.message(marie, "Une mutation interne.", reply_to=message_id)
    await harness.feed(reply)
    with harness.knowledge.session() as session:  # an adviser asks again meanwhile
        session.get(Ticket, ticket.id).status = TicketStatus.WAITING_ASKER.value  # type: ignore
    await harness.feed(reply)  # replayed: neither added again nor a new question
    assert len(_tickets(harness)) == 1
    with harness.knowledge.session() as session:
        clarifications = session.query(TicketMessage).filter_by(
            ticket_id=ticket.id, kind="clarification").count()
    assert clarifications == 1
    assert _tickets(harness)[0].status == TicketStatus.WAITING_ASKER.value


async def test_a_comment_prompt_survives_a_restart(harness: BotHarness,
                                                  restarted: BotHarness) -> None:
    marie = Person(4009)
    harness.approved_asker(marie)
    await harness.say(marie, "Question à laquelle on répond ?")
    [ticket] = _tickets(harness)
    _answered(harness, ticket.id)
    await harness.click(marie, f"fb:{ticket.id}:-1")
    prompt = harness.transport.sent(marie.id)[-1]
    assert prompt.params["reply_markup"]["force_reply"] is True
    prompt_id = harness.transport.next_message_id  # the transport numbers messages in order
    await harness.feed(harness.press(marie, f"fb:{ticket.id}:-1"))  # pressed twice: one prompt
    assert harness.transport.next_message_id == prompt_id
    replies = await restarted.say(marie, "Il manque la référence du décret.", reply_to=prompt_id)
    assert "commentaire" in replies[-1]
    assert len(_tickets(harness)) == 1
    assert _tickets(harness)[0].feedback_comment == "Il manque la référence du décret."


async def test_a_group_is_told_once_even_across_a_restart(harness: BotHarness,
                                                         restarted: BotHarness) -> None:
    marie = Person(4010)
    group = {"id": -100777, "type": "supergroup", "title": "Équipe"}
    await harness.feed(harness.message(marie, "Bonjour", chat=group))
    await restarted.feed(restarted.message(marie, "Une question ?", chat=group))
    told = harness.transport.texts(-100777) + restarted.transport.texts(-100777)
    assert len(told) == 1 and "conversation privée" in told[0]


async def test_an_update_that_keeps_killing_the_process_is_given_up(harness: BotHarness) -> None:
    marie = Person(4011)
    intake = intake_of(harness.application)
    await _receive(intake, harness.message(marie, "/aide"))
    with harness.knowledge.session() as session:
        row = session.query(InboxUpdate).one()
        row.attempts = inbox.MAX_ATTEMPTS  # as many starts, each killed while processing it
    await intake.process_pending()
    [row] = _inbox(harness)
    assert row.processed_at is not None and "abandonné" in (row.last_error or "")
    assert harness.transport.texts(marie.id) == []


async def test_processed_updates_are_pruned_after_the_retention(harness: BotHarness) -> None:
    marie = Person(4012)
    intake = intake_of(harness.application)
    await _receive(intake, harness.message(marie, "/aide"), harness.message(marie, "/aide"))
    await intake.process_pending()
    await _receive(intake, harness.message(marie, "/aide"))  # still waiting: always kept
    with harness.knowledge.session() as session:
        old = session.query(InboxUpdate).order_by(InboxUpdate.id).first()
        assert old is not None
        old.processed_at = utcnow() - timedelta(days=31)
    assert intake.prune() == 1
    assert len(_inbox(harness)) == 2


async def test_a_handled_429_logs_one_warning_and_no_traceback(
        harness: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    marie = Person(4013)
    harness.approved_asker(marie)
    harness.transport.plan("sendMessage", (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}}))
    with caplog.at_level(logging.INFO):
        await harness.say(marie, "Question pendant une limite de débit ?")
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in noisy] == [logging.WARNING], [r.getMessage() for r in noisy]
    assert noisy[0].exc_info is None and "limite de débit" in noisy[0].getMessage()
    assert len(_tickets(harness)) == 1  # the receipt waits in the outbox for the delay
