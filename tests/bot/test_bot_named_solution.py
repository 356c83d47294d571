""""Cette réponse me suffit" under a suggestion shown in full: the ticket is closed and only the
entry that helped is credited; forged, replayed and late presses change nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import BotHarness, Person
from test_bot_questions import SLS_ANSWER, SLS_QUESTION

from bot import texts
from knowledge.catalog.usage import usage
from knowledge.desk import tickets as ticket_service
from knowledge.store.models import AuditEvent, Ticket, TicketMessage, TicketStatus

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

SLS_EXEMPT_QUESTION = "Quels locataires sont exemptés du supplément de loyer de solidarité (SLS) ?"
SLS_EXEMPT_ANSWER = ("Le supplément de loyer de solidarité ne s'applique pas aux locataires "
                     "qui perçoivent l'aide personnalisée au logement, ni dans les quartiers "
                     "prioritaires de la politique de la ville.")


def _ticket(harness: BotHarness) -> Ticket:
    with harness.knowledge.session() as session:
        [ticket] = session.query(Ticket).all()
        session.expunge(ticket)
        return ticket


def _button(markup: dict[str, Any]) -> dict[str, str]:
    [[button]] = markup["inline_keyboard"]
    return dict(button)


async def _asked(harness: BotHarness, person: Person) -> tuple[Ticket, list[int]]:
    """An approved asker whose SLS question got both SLS entries suggested."""
    first = harness.entry(SLS_QUESTION, SLS_ANSWER)
    second = harness.entry(SLS_EXEMPT_QUESTION, SLS_EXEMPT_ANSWER)
    harness.approved_asker(person)
    await harness.say(person, "Le SLS, comment on le calcule pour nos locataires ?")
    ticket = _ticket(harness)
    assert set(ticket.suggested_entry_ids) == {first, second}
    return ticket, [first, second]


async def test_the_answer_shown_in_full_offers_to_close_the_question_with_it(
        harness: BotHarness) -> None:
    marie = Person(4101)
    ticket, (first, second) = await _asked(harness, marie)
    replies = await harness.click(marie, f"see:{ticket.id}:{second}")
    assert "quartiers prioritaires" in replies[-1]
    button = _button(harness.transport.last_markup(marie.id))
    assert button == {"text": "Cette réponse me suffit",
                      "callback_data": f"solved:{ticket.id}:{second}"}

    replies = await harness.click(marie, button["callback_data"],
                                  markup=harness.transport.last_markup(marie.id))
    assert replies == [texts.solved(ticket.id)]
    closed = _ticket(harness)
    assert closed.status == TicketStatus.SELF_SERVED.value and closed.entry_id == second
    edit = [c for c in harness.transport.calls if c.method == "editMessageReplyMarkup"][-1]
    assert "reply_markup" not in edit.params  # the button is gone from that message
    with harness.knowledge.session() as session:
        counts = usage(session=session, entry_ids=[first, second])
        said = session.query(TicketMessage).filter_by(ticket_id=ticket.id,
                                                      kind="self_served").one().text
        event = session.query(AuditEvent).filter_by(action="ticket.self_served").one()
    assert (counts[first].suggested, counts[first].solved_alone) == (1, 0)
    assert (counts[second].suggested, counts[second].solved_alone) == (1, 1)
    assert f"fiche n° {second}" in said
    assert event.details is not None and event.details.get("entry_id") == second
    assert harness.errors == []


async def test_a_press_replayed_or_repeated_closes_once(harness: BotHarness) -> None:
    marie = Person(4102)
    ticket, (first, _) = await _asked(harness, marie)
    data = f"solved:{ticket.id}:{first}"
    assert await harness.click(marie, data) == [texts.solved(ticket.id)]
    assert await harness.click(marie, data) == []
    assert await harness.click(marie, f"solved:{ticket.id}") == []
    with harness.knowledge.session() as session:
        assert session.query(TicketMessage).filter_by(ticket_id=ticket.id,
                                                      kind="self_served").count() == 1
        assert session.query(AuditEvent).filter_by(action="ticket.self_served").count() == 1
    assert _ticket(harness).entry_id == first


async def test_naming_the_answer_after_the_general_button_credits_it(
        harness: BotHarness) -> None:
    marie = Person(4103)
    ticket, (first, second) = await _asked(harness, marie)
    await harness.click(marie, f"solved:{ticket.id}")
    assert _ticket(harness).entry_id is None
    assert await harness.click(marie, f"solved:{ticket.id}:{second}") == []
    assert _ticket(harness).entry_id == second
    with harness.knowledge.session() as session:
        counts = usage(session=session, entry_ids=[first, second])
    assert (counts[first].solved_alone, counts[second].solved_alone) == (0, 1)


@pytest.mark.parametrize("shape", ["other entry", "other asker", "extra number", "wait entry"])
async def test_forged_presses_change_nothing(harness: BotHarness, shape: str) -> None:
    marie, paul = Person(4104), Person(4105, first_name="Paul")
    ticket, (first, _) = await _asked(harness, marie)
    harness.approved_asker(paul)
    stranger = harness.entry("Qui paie la taxe foncière d'un logement social ?",
                             "La taxe foncière est payée par le bailleur.")
    presser, data = {
        "other entry": (marie, f"solved:{ticket.id}:{stranger}"),
        "other asker": (paul, f"solved:{ticket.id}:{first}"),
        "extra number": (marie, f"solved:{ticket.id}:{first}:1"),
        "wait entry": (marie, f"wait:{ticket.id}:{first}"),
    }[shape]
    assert await harness.click(presser, data) == []
    answered = [c for c in harness.transport.calls if c.method == "answerCallbackQuery"][-1]
    assert answered.params.get("text") == texts.BUTTON_EXPIRED
    after = _ticket(harness)
    assert after.status == TicketStatus.NEW.value and after.entry_id is None


async def test_no_offer_to_close_once_the_question_is_answered(harness: BotHarness) -> None:
    marie = Person(4106)
    ticket, (first, _) = await _asked(harness, marie)
    with harness.knowledge.session() as session:
        assert ticket.asker_id is not None
        ticket_service.mark_self_served(session=session, ticket_id=ticket.id,
                                        asker_id=ticket.asker_id)
    replies = await harness.click(marie, f"see:{ticket.id}:{first}")
    assert "coefficient fixé par le bailleur" in replies[-1]
    assert "reply_markup" not in harness.transport.sent(marie.id)[-1].params
