"""A restart in the middle of a registration resumes it: steps and drafts live in the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from conftest import BotHarness, Person, RecordingRequest
from sqlalchemy import select, update
from telegram import Update

from bot.application import build_application
from bot.intake import intake_of
from knowledge.desk import conversations
from knowledge.people import askers
from knowledge.store.models import AskerStatus, ConversationState, TelegramUserData
from knowledge.timeutil import utcnow

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]


@asynccontextmanager
async def restart(harness: BotHarness) -> AsyncIterator[BotHarness]:
    """A new bot process on the same database, started now (it loads what is stored now)."""
    transport = RecordingRequest()
    application = build_application(knowledge=harness.knowledge, config=harness.config,
                                    request=transport, get_updates_request=RecordingRequest())
    await application.initialize()
    try:
        yield BotHarness(application=application, transport=transport,
                         knowledge=harness.knowledge, config=harness.config,
                         _update_id=harness._update_id + 1000,
                         _message_id=harness._message_id + 1000)
    finally:
        await application.shutdown()


async def _through_inbox(harness: BotHarness, payload: dict[str, Any]) -> list[str]:
    """Receive and process one update as the running bot does; return the texts sent back."""
    person = (payload.get("message") or payload["callback_query"])["from"]["id"]
    before = len(harness.transport.texts(person))
    intake = intake_of(harness.application)
    await intake.receive([(payload, Update.de_json(payload, harness.application.bot))])
    await intake.process_pending()
    return harness.transport.texts(person)[before:]


def _rows(harness: BotHarness) -> tuple[list[ConversationState], list[TelegramUserData]]:
    with harness.knowledge.session() as session:
        return (list(session.scalars(select(ConversationState))),
                list(session.scalars(select(TelegramUserData))))


async def test_a_registration_interrupted_by_a_restart_goes_on_where_it_stopped(
        harness: BotHarness) -> None:
    org_id = harness.organisation("Logis Méditerranée")
    marie = Person(5101)
    assert "nom complet" in (await _through_inbox(harness, harness.message(marie, "/start")))[-1]
    replies = await _through_inbox(harness, harness.message(marie, "Marie Durand"))
    assert "organisme" in replies[-1]
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]

    async with restart(harness) as second:  # the first process died here
        await _through_inbox(second, second.press(marie, keyboard[0][0]["callback_data"]))
        replies = await _through_inbox(second, second.message(marie, "marie@logis-med.fr"))
        assert "Vos données" in replies[-1]

        async with restart(second) as third:  # and once more before the consent
            await _through_inbox(third, third.press(marie, "reg:ok"))
            assert third.errors == []

    with harness.knowledge.session() as session:
        asker = askers.get_by_telegram_user_id(session=session, telegram_user_id=marie.id)
        assert asker is not None
        assert (asker.full_name, asker.email, asker.organisation_id, asker.status) == (
            "Marie Durand", "marie@logis-med.fr", org_id, AskerStatus.PENDING.value)
    # The conversation ended and its draft (name, e-mail) is not kept.
    assert _rows(harness) == ([], [])


async def test_a_step_older_than_the_registration_timeout_is_forgotten_at_restart(
        harness: BotHarness) -> None:
    harness.organisation()
    paul = Person(5102, first_name="Paul", username="paul")
    await _through_inbox(harness, harness.message(paul, "/start"))
    await _through_inbox(harness, harness.message(paul, "Paul Martin"))
    states, data = _rows(harness)
    assert [row.user_id for row in states] == [paul.id]
    assert [row.user_id for row in data] == [paul.id]  # his name, kept while he registers
    with harness.knowledge.session() as session:
        session.execute(update(ConversationState).values(
            updated_at=utcnow() - timedelta(hours=1)))
        session.execute(update(TelegramUserData).values(
            updated_at=utcnow() - timedelta(hours=1)))

    async with restart(harness) as second:
        # Not taken as his name: the registration timed out, the text is an unregistered user's.
        replies = await _through_inbox(second, second.message(paul, "paul@exemple.fr"))
    assert "Vos données" not in replies[-1]  # not taken as the e-mail step
    assert _rows(harness) == ([], [])  # the abandoned draft (his name) is gone


async def test_cancelling_removes_the_stored_step_and_draft(harness: BotHarness) -> None:
    harness.organisation()
    lea = Person(5103, first_name="Léa", username="lea")
    await _through_inbox(harness, harness.message(lea, "/start"))
    await _through_inbox(harness, harness.message(lea, "Léa Bernard"))
    states, data = _rows(harness)
    assert len(states) == 1 and data[0].data["registration"]["name"] == "Léa Bernard"
    await _through_inbox(harness, harness.message(lea, "/annuler"))
    assert _rows(harness) == ([], [])


async def test_forgetting_a_telegram_user_removes_their_steps_and_draft(
        harness: BotHarness) -> None:
    harness.organisation()
    lea = Person(5104, first_name="Léa", username="lea")
    await _through_inbox(harness, harness.message(lea, "/start"))
    await _through_inbox(harness, harness.message(lea, "Léa Bernard"))
    with harness.knowledge.session() as session:
        assert conversations.forget_user(session=session, telegram_user_id=lea.id) == 2
    assert _rows(harness) == ([], [])
