"""Hand-made callback data: buttons are checked against the asker and what their ticket offered."""

from __future__ import annotations

import pytest
from conftest import BotHarness, Person

from knowledge.desk import tickets
from knowledge.people import askers
from knowledge.store.models import Ticket, TicketStatus

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

SECRET_ANSWER = "Réponse interne réservée : le coefficient de la grille est 1,27."


def _ticket(harness: BotHarness, asker_id: int, offered: list[int],
            status: str = TicketStatus.NEW.value) -> int:
    """A question of an asker on which these entries were suggested."""
    with harness.knowledge.session() as session:
        ticket = tickets.submit(session=session, asker_id=asker_id,
                                text="Comment est calculé le supplément de loyer ?")
        tickets.record_suggestions(session=session, ticket_id=ticket.id, entry_ids=offered,
                                   top_score=0.9 if offered else None)
        ticket.status = status
        return ticket.id


def _leaked(harness: BotHarness, person: Person) -> bool:
    return any("1,27" in text for text in harness.transport.texts(person.id))


def _told_expired(harness: BotHarness) -> bool:
    answers = [c for c in harness.transport.calls if c.method == "answerCallbackQuery"]
    return bool(answers) and "plus valable" in str(answers[-1].params.get("text", ""))


async def test_an_unregistered_user_gets_no_entry_from_a_forged_button(
        harness: BotHarness) -> None:
    entry_id = harness.entry("Grille interne ?", SECRET_ANSWER)
    owner = harness.approved_asker(Person(3001))
    ticket_id = _ticket(harness, owner, [entry_id])
    stranger = Person(3002)
    await harness.click(stranger, f"see:{ticket_id}:{entry_id}")
    await harness.click(stranger, "see:1:1")
    assert not _leaked(harness, stranger) and _told_expired(harness)
    assert harness.errors == []


async def test_a_blocked_asker_gets_no_entry_even_from_their_own_ticket(
        harness: BotHarness) -> None:
    entry_id = harness.entry("Grille interne ?", SECRET_ANSWER)
    marie = Person(3003)
    asker_id = harness.approved_asker(marie)
    ticket_id = _ticket(harness, asker_id, [entry_id])
    with harness.knowledge.session() as session:
        askers.block(session=session, asker_id=asker_id, actor="test")
    await harness.click(marie, f"see:{ticket_id}:{entry_id}")
    await harness.click(marie, f"fb:{ticket_id}:1")
    assert not _leaked(harness, marie)
    with harness.knowledge.session() as session:
        assert session.get(Ticket, ticket_id).feedback is None  # type: ignore[union-attr]


async def test_only_entries_offered_on_the_askers_own_ticket_are_shown(
        harness: BotHarness) -> None:
    offered = harness.entry("Qui paie la TEOM ?", "Le locataire, dans ses charges : 1,27.")
    hidden = harness.entry("Grille interne ?", SECRET_ANSWER)
    marie, paul = Person(3004), Person(3005, first_name="Paul")
    marie_id = harness.approved_asker(marie)
    paul_ticket = _ticket(harness, harness.approved_asker(paul), [hidden])
    marie_ticket = _ticket(harness, marie_id, [offered])
    await harness.click(marie, f"see:{marie_ticket}:{hidden}")  # not offered to her
    await harness.click(marie, f"see:{paul_ticket}:{hidden}")   # Paul's ticket
    assert not _leaked(harness, marie)
    await harness.click(marie, f"see:{marie_ticket}:{offered}")  # the real button still works
    assert _leaked(harness, marie)


async def test_resolved_and_waiting_need_suggestions_on_that_ticket(
        harness: BotHarness) -> None:
    marie = Person(3006)
    ticket_id = _ticket(harness, harness.approved_asker(marie), [])
    await harness.click(marie, f"solved:{ticket_id}")
    await harness.click(marie, f"wait:{ticket_id}")
    with harness.knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == TicketStatus.NEW.value
        assert [m.kind for m in ticket.messages] == ["question"]


async def test_feedback_only_on_an_answered_ticket(harness: BotHarness) -> None:
    marie = Person(3007)
    asker_id = harness.approved_asker(marie)
    open_ticket = _ticket(harness, asker_id, [])
    answered = _ticket(harness, asker_id, [], status=TicketStatus.ANSWERED.value)
    await harness.click(marie, f"fb:{open_ticket}:-1")
    await harness.click(marie, f"fb:{answered}:1")
    with harness.knowledge.session() as session:
        assert session.get(Ticket, open_ticket).feedback is None  # type: ignore[union-attr]
        assert session.get(Ticket, answered).feedback == 1  # type: ignore[union-attr]


async def test_oversized_numbers_in_buttons_are_just_expired(harness: BotHarness) -> None:
    marie = Person(3008)
    harness.approved_asker(marie)
    for data in ("see:9223372036854775808:1", "see:1:99999999999999999999",
                 "solved:2147483648", "wait:-1", "fb:9223372036854775808:1"):
        await harness.click(marie, data)
    assert harness.errors == []
