"""Registration: the /start conversation, invite codes, pending and blocked users."""

from __future__ import annotations

import pytest
from conftest import BotHarness, Person

from knowledge.people import askers
from knowledge.store.models import Asker, AskerStatus, Outbox, OutboxKind

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]


def _asker(harness: BotHarness, person: Person) -> Asker | None:
    with harness.knowledge.session() as session:
        return askers.get_by_telegram_user_id(session=session, telegram_user_id=person.id)


async def test_plain_registration_stores_a_pending_asker_after_consent(
        harness: BotHarness) -> None:
    org_id = harness.organisation("Logis Méditerranée")
    marie = Person(1001)
    replies = await harness.say(marie, "/start")
    assert "nom complet" in replies[-1]
    replies = await harness.say(marie, "Marie Durand")
    assert "organisme" in replies[-1]
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    assert keyboard[0][0]["text"] == "Logis Méditerranée"
    await harness.click(marie, keyboard[0][0]["callback_data"])
    replies = await harness.say(marie, "pas-une-adresse")
    assert "invalide" in replies[-1]
    replies = await harness.say(marie, "Marie.Durand@Logis-Med.fr")
    assert "Vos données" in replies[-1] and "/supprimer" in replies[-1]
    assert _asker(harness, marie) is None  # nothing stored before consent
    await harness.click(marie, "reg:ok")
    asker = _asker(harness, marie)
    assert asker is not None
    assert (asker.full_name, asker.email, asker.organisation_id, asker.status) == (
        "Marie Durand", "marie.durand@logis-med.fr", org_id, AskerStatus.PENDING.value)
    assert asker.consent_at is not None
    edits = [c for c in harness.transport.calls if c.method == "editMessageText"]
    assert "validation" in str(edits[-1].params["text"]) or "valider" in str(
        edits[-1].params["text"])
    assert harness.errors == []


async def test_pending_user_cannot_ask_and_is_told_so(harness: BotHarness) -> None:
    harness.organisation()
    marie = Person(1002)
    await harness.say(marie, "/start")
    await harness.say(marie, "Marie Durand")
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    await harness.click(marie, keyboard[0][0]["callback_data"])
    await harness.say(marie, "marie@habitat.fr")
    await harness.click(marie, "reg:ok")
    replies = await harness.say(marie, "Comment calculer le SLS ?")
    assert "attend la validation" in replies[-1]
    with harness.knowledge.session() as session:
        assert session.query(Outbox).count() == 0


async def test_cancelled_registration_stores_nothing(harness: BotHarness) -> None:
    harness.organisation()
    marie = Person(1003)
    await harness.say(marie, "/start")
    await harness.say(marie, "Marie Durand")
    replies = await harness.say(marie, "/annuler")
    assert "annulée" in replies[-1]
    assert _asker(harness, marie) is None


async def test_long_organisation_list_is_paged(harness: BotHarness) -> None:
    for number in range(12):
        harness.organisation(f"Organisme {number:02d}")
    marie = Person(1004)
    await harness.say(marie, "/start")
    await harness.say(marie, "Marie Durand")
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    assert len(keyboard) == 9 and keyboard[-1][0]["callback_data"] == "reg:page:1"
    await harness.click(marie, "reg:page:1")
    edit = [c for c in harness.transport.calls if c.method == "editMessageReplyMarkup"][-1]
    markup = edit.params["reply_markup"]
    names = [row[0]["text"] for row in markup["inline_keyboard"]]
    assert "Organisme 11" in names


async def test_invite_code_registers_and_approves_and_next_text_is_a_question(
        harness: BotHarness) -> None:
    org_id = harness.organisation("Habitat Marseille")
    code = harness.invite_code(org_id)
    marie = Person(1005, first_name="Marie", last_name="Curie")
    replies = await harness.say(marie, f"/start {code}")
    assert "Habitat Marseille" in replies[-1]
    asker = _asker(harness, marie)
    assert asker is not None and asker.status == AskerStatus.APPROVED.value
    assert asker.full_name == "Marie Curie" and asker.email is None
    replies = await harness.say(marie, "Quel délai pour contester un SLS ?")
    assert "n° " in replies[-1]
    replies = await harness.say(marie, "/moi marie.curie@habitat-marseille.fr")
    assert "marie.curie@habitat-marseille.fr" in replies[-1]
    assert harness.errors == []


async def test_wrong_invite_code_is_refused(harness: BotHarness) -> None:
    harness.organisation()
    marie = Person(1006)
    replies = await harness.say(marie, "/start nimportequoi")
    assert "pas valide" in replies[-1]
    assert _asker(harness, marie) is None


async def test_blocked_user_cannot_ask_nor_reregister_with_a_code(harness: BotHarness) -> None:
    marie = Person(1007)
    asker_id = harness.approved_asker(marie)
    with harness.knowledge.session() as session:
        askers.block(session=session, asker_id=asker_id, actor="test")
    replies = await harness.say(marie, "Une question ?")
    assert "suspendu" in replies[-1]
    with harness.knowledge.session() as session:
        code_org = session.get(Asker, asker_id).organisation_id  # type: ignore[union-attr]
    code = harness.invite_code(code_org)  # type: ignore[arg-type]
    replies = await harness.say(marie, f"/start {code}")
    assert "suspendu" in replies[-1]


async def test_approval_sends_the_asker_a_message(harness: BotHarness) -> None:
    org_id = harness.organisation()
    with harness.knowledge.session() as session:
        asker = askers.register_pending(session=session, telegram_user_id=1008, chat_id=1008,
                                        telegram_username=None, full_name="Jean Martin",
                                        email="jean@org.fr", organisation_id=org_id)
        askers.approve(session=session, asker_id=asker.id, actor="conseiller")
    with harness.knowledge.session() as session:
        row = session.query(Outbox).one()
        assert (row.kind, row.chat_id) == (OutboxKind.REGISTRATION.value, 1008)


async def test_erasure_anonymises_the_asker_and_keeps_the_tickets(harness: BotHarness) -> None:
    marie = Person(1009)
    asker_id = harness.approved_asker(marie)
    await harness.say(marie, "Qui paie la taxe d'enlèvement des ordures ménagères ?")
    await harness.say(marie, "/supprimer")
    await harness.click(marie, "erase:yes")
    with harness.knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        assert (asker.full_name, asker.email, asker.telegram_user_id, asker.status) == (
            None, None, None, AskerStatus.ERASED.value)
    from knowledge.store.models import Ticket

    with harness.knowledge.session() as session:
        assert session.query(Ticket).filter(Ticket.asker_id == asker_id).count() == 1
    replies = await harness.say(marie, "Encore une question")
    assert "pas encore inscrit" in replies[-1]
