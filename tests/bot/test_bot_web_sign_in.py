"""`/web` (issue 23): an approved asker gets a one-time link to the help centre, in French,
once per update; anybody else, or a bot without a help centre, gets a clear refusal."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import BotHarness, Person, RecordingRequest
from sqlalchemy import func, select
from telegram import Update

from bot import texts
from bot.application import build_application
from bot.intake import intake_of
from knowledge.errors import InvalidInput
from knowledge.people import members
from knowledge.store.member_models import MemberLink
from knowledge.store.models import InboxUpdate

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

LINK = re.compile(r"https://svp\.example\.org/aide/lien/([A-Za-z0-9_-]{40,})")


def _links(harness: BotHarness) -> int:
    with harness.knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(MemberLink)) or 0)


def _token(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found.group(1)


@pytest.fixture
async def restarted(harness: BotHarness) -> AsyncIterator[BotHarness]:
    """A second bot process on the same database (as after a restart)."""
    transport = RecordingRequest()
    application = build_application(knowledge=harness.knowledge, config=harness.config,
                                    request=transport, get_updates_request=RecordingRequest())
    await application.initialize()
    yield BotHarness(application=application, transport=transport, knowledge=harness.knowledge,
                     config=harness.config, _update_id=1000, _message_id=1000)
    await application.shutdown()


@pytest.fixture
async def without_help_centre(harness: BotHarness) -> AsyncIterator[BotHarness]:
    """The same bot, deployed with SVP_HELP_CENTRE=false."""
    config = dataclasses.replace(harness.config, help_centre_url=None)
    transport = RecordingRequest()
    application = build_application(knowledge=harness.knowledge, config=config,
                                    request=transport, get_updates_request=RecordingRequest())
    await application.initialize()
    yield BotHarness(application=application, transport=transport, knowledge=harness.knowledge,
                     config=config, _update_id=2000, _message_id=2000)
    await application.shutdown()


async def test_web_sends_an_approved_asker_a_link_that_signs_in_once(
        harness: BotHarness) -> None:
    marie = Person(5101)
    asker_id = harness.approved_asker(marie)
    [reply] = await harness.say(marie, "/web")
    assert "ne sert qu'une fois" in reply and "15 minutes" in reply
    assert "Ne le transférez à personne" in reply
    sent = harness.transport.sent(marie.id)[-1].params
    assert sent["protect_content"] is True  # Telegram refuses to forward it
    token = _token(reply)
    with harness.knowledge.session() as session:
        assert members.link_is_live(session=session, token=token)
        _cookie, row = members.redeem(session=session, token=token, ip="10.0.0.1")
        assert (row.asker_id, row.email) == (asker_id, "marie.durand@habitat13.fr")
    with harness.knowledge.session() as session, pytest.raises(InvalidInput):
        members.redeem(session=session, token=token, ip="10.0.0.1")
    assert harness.errors == []


async def test_web_from_anybody_but_an_approved_asker_is_refused_without_a_link(
        harness: BotHarness) -> None:
    stranger = Person(5102)
    assert await harness.say(stranger, "/web") == [texts.NOT_REGISTERED]
    waiting = Person(5103)
    with harness.knowledge.session() as session:
        from knowledge.people import askers, organisations

        organisation = organisations.create(session=session, name="Logis Test",
                                            kind=organisations.parse_kind("oph"),
                                            departement="13", actor="test")
        askers.register_pending(session=session, telegram_user_id=waiting.id,
                                chat_id=waiting.id, telegram_username=None,
                                full_name="Paul Attente", email="paul@logis.example",
                                organisation_id=organisation.id)
    assert await harness.say(waiting, "/web") == [texts.PENDING]
    assert _links(harness) == 0
    assert not any(LINK.search(text) for text in harness.transport.texts())


async def test_web_without_a_help_centre_says_so(without_help_centre: BotHarness) -> None:
    marie = Person(5104)
    without_help_centre.approved_asker(marie)
    assert await without_help_centre.say(marie, "/web") == [texts.WEB_UNAVAILABLE]
    assert _links(without_help_centre) == 0


async def test_web_is_throttled_per_asker(harness: BotHarness) -> None:
    marie = Person(5105)
    harness.approved_asker(marie)
    for _ in range(members.PER_ASKER):
        [reply] = await harness.say(marie, "/web")
        _token(reply)
    [refused] = await harness.say(marie, "/web")
    assert "patienter 15 minutes" in refused and not LINK.search(refused)
    assert _links(harness) == members.PER_ASKER


async def test_a_replayed_web_update_issues_one_link(harness: BotHarness) -> None:
    marie = Person(5106)
    harness.approved_asker(marie)
    intake = intake_of(harness.application)
    payload = harness.message(marie, "/web")

    async def receive(update: dict[str, Any]) -> list[int]:
        return await intake.receive([(update, Update.de_json(update, harness.application.bot))])

    assert await receive(payload) == [payload["update_id"]]
    assert await intake.process_pending() == 1
    assert await receive(payload) == []  # Telegram delivered it again
    assert await intake.process_pending() == 0
    assert _links(harness) == 1
    assert len([text for text in harness.transport.texts(marie.id) if LINK.search(text)]) == 1
    with harness.knowledge.session() as session:
        row = session.scalars(select(InboxUpdate).where(
            InboxUpdate.update_id == payload["update_id"])).one()
        assert row.processed_at is not None and row.last_error is None


class Crash(Exception):
    """The process dies here."""


async def test_web_replayed_after_a_crash_issues_no_second_link(
        harness: BotHarness, restarted: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    marie = Person(5108)
    harness.approved_asker(marie)
    intake = intake_of(harness.application)

    def crash(update_id: int, error: str | None) -> None:
        raise Crash()

    # Dies after the reply, before the intake's own mark: only the handler's mark counts.
    monkeypatch.setattr(intake, "_done", crash)
    payload = harness.message(marie, "/web")
    await intake.receive([(payload, Update.de_json(payload, harness.application.bot))])
    with contextlib.suppress(Crash):
        await intake.process_pending()
    assert await intake_of(restarted.application).process_pending() == 0
    assert _links(harness) == 1
    sent = harness.transport.texts(marie.id) + restarted.transport.texts(marie.id)
    assert len([text for text in sent if LINK.search(text)]) == 1


async def test_web_is_in_the_command_list_and_the_help(harness: BotHarness) -> None:
    assert "web" in [name for name, _description in texts.COMMANDS]
    [help_text] = await harness.say(Person(5107), "/aide")
    assert "/web" in help_text and "centre d'aide" in help_text
