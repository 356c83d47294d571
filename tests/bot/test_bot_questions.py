"""Asking: tickets committed first, suggestions from the real engine, buttons, limits, bad input."""

from __future__ import annotations

import pytest
from conftest import BOT_ID, BotHarness, Person

from knowledge.desk import outbox as outbox_service
from knowledge.store.models import (
    MessageAuthor,
    Outbox,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

SLS_QUESTION = "Comment est calculé le supplément de loyer de solidarité (SLS) ?"
SLS_ANSWER = ("Le supplément de loyer de solidarité est dû lorsque les ressources du ménage "
              "dépassent d'au moins 20 % les plafonds. Son montant dépend du dépassement, de la "
              "surface habitable et d'un coefficient fixé par le bailleur.")


def _tickets(harness: BotHarness) -> list[Ticket]:
    with harness.knowledge.session() as session:
        return list(session.query(Ticket).order_by(Ticket.id))


async def test_question_close_to_a_validated_answer_gets_it_suggested(
        harness: BotHarness) -> None:
    entry_id = harness.entry(SLS_QUESTION, SLS_ANSWER, source="https://exemple.fr/sls")
    harness.entry("Qui paie la taxe foncière d'un logement social ?",
                  "La taxe foncière sur les propriétés bâties est payée par le bailleur.")
    marie = Person(2001)
    harness.approved_asker(marie)
    replies = await harness.say(marie, "Comment calcule-t-on le SLS, le supplément de loyer ?")
    [ticket] = _tickets(harness)
    assert f"n° {ticket.id}" in replies[-1]
    assert "supplément de loyer de solidarité" in replies[-1]
    assert ticket.suggested_entry_ids[0] == entry_id and ticket.top_score is not None
    keyboard = harness.transport.last_markup(marie.id)["inline_keyboard"]
    assert keyboard[0][0]["text"] == "Voir la réponse 1"
    assert [b["text"] for b in keyboard[-1]] == ["Ma question est résolue",
                                                 "J'attends un conseiller"]
    replies = await harness.click(marie, keyboard[0][0]["callback_data"])
    assert "coefficient fixé par le bailleur" in replies[-1]
    assert "https://exemple.fr/sls" in replies[-1]
    assert harness.errors == []


async def test_question_without_close_answer_says_advisers_will_answer(
        harness: BotHarness) -> None:
    harness.entry(SLS_QUESTION, SLS_ANSWER)
    marie = Person(2002)
    harness.approved_asker(marie)
    replies = await harness.say(marie, "Quelle est la recette de la bouillabaisse marseillaise ?")
    [ticket] = _tickets(harness)
    assert f"n° {ticket.id}" in replies[-1] and "conseiller du SVP vous répondra" in replies[-1]
    assert ticket.suggested_entry_ids == []
    assert ticket.top_score is not None  # kept for tuning the threshold, though nothing shown
    assert ticket.top_score < harness.knowledge.abstain_threshold
    assert "reply_markup" not in harness.transport.sent(marie.id)[-1].params


async def test_self_served_button_closes_the_ticket(harness: BotHarness) -> None:
    harness.entry(SLS_QUESTION, SLS_ANSWER)
    marie = Person(2003)
    harness.approved_asker(marie)
    await harness.say(marie, "Comment est calculé le SLS ?")
    [ticket] = _tickets(harness)
    replies = await harness.click(marie, f"solved:{ticket.id}")
    assert "close" in replies[-1]
    [ticket] = _tickets(harness)
    assert ticket.status == TicketStatus.SELF_SERVED.value


async def test_waiting_keeps_the_see_answer_buttons_and_drops_the_choice(
        harness: BotHarness) -> None:
    harness.entry(SLS_QUESTION, SLS_ANSWER)
    marie = Person(2019)
    harness.approved_asker(marie)
    await harness.say(marie, "Comment est calculé le supplément de loyer de solidarité ?")
    [ticket] = _tickets(harness)
    markup = harness.transport.last_markup(marie.id)
    await harness.click(marie, f"wait:{ticket.id}", markup=markup)
    edit = [c for c in harness.transport.calls if c.method == "editMessageReplyMarkup"][-1]
    labels = [row[0]["text"] for row in edit.params["reply_markup"]["inline_keyboard"]]
    assert labels[0] == "Voir la réponse 1"
    assert all("attends" not in label for label in labels)


async def test_waiting_button_keeps_the_ticket_open(harness: BotHarness) -> None:
    harness.entry(SLS_QUESTION, SLS_ANSWER)  # the buttons come only with suggestions
    marie = Person(2004)
    harness.approved_asker(marie)
    await harness.say(marie, "Comment est calculé le SLS ?")
    [ticket] = _tickets(harness)
    replies = await harness.click(marie, f"wait:{ticket.id}")
    assert "conseiller" in replies[-1]
    assert _tickets(harness)[0].status == TicketStatus.NEW.value


async def test_someone_else_cannot_close_my_ticket(harness: BotHarness) -> None:
    marie, paul = Person(2005), Person(2006, first_name="Paul")
    harness.approved_asker(marie)
    harness.approved_asker(paul)
    await harness.say(marie, "Comment est calculé le SLS ?")
    [ticket] = _tickets(harness)
    await harness.click(paul, f"solved:{ticket.id}")
    assert _tickets(harness)[0].status == TicketStatus.NEW.value


async def test_reply_to_a_clarification_request_joins_the_ticket_thread(
        harness: BotHarness) -> None:
    marie = Person(2007)
    asker_id = harness.approved_asker(marie)
    await harness.say(marie, "Un locataire peut-il refuser une mutation ?")
    [ticket] = _tickets(harness)
    with harness.knowledge.session() as session:
        session.get(Ticket, ticket.id).status = TicketStatus.WAITING_ASKER.value  # type: ignore
        row = outbox_service.enqueue(session=session, kind=OutboxKind.CLARIFICATION,
                                     chat_id=marie.id, text="De quel type de mutation s'agit-il ?",
                                     created_by="conseiller", asker_id=asker_id,
                                     ticket_id=ticket.id)
        row_id = row.id
    from bot.delivery import drain

    await drain(harness.application.bot, harness.knowledge)
    with harness.knowledge.session() as session:
        [message_id] = session.get(Outbox, row_id).telegram_message_ids  # type: ignore[union-attr]
    replies = await harness.say(marie, "Une mutation interne, pour sous-occupation.",
                                reply_to=message_id)
    assert f"n° {ticket.id}" in replies[-1] and "précision" in replies[-1]
    assert len(_tickets(harness)) == 1
    with harness.knowledge.session() as session:
        thread = session.query(TicketMessage).filter_by(ticket_id=ticket.id).order_by(
            TicketMessage.id).all()
        assert [(m.author, m.text) for m in thread][-1] == (
            MessageAuthor.ASKER.value, "Une mutation interne, pour sous-occupation.")
        assert session.get(Ticket, ticket.id).status == TicketStatus.NEW.value  # type: ignore


async def test_rate_limit_per_minute_refuses_the_sixth_question(harness: BotHarness) -> None:
    marie = Person(2008)
    harness.approved_asker(marie)
    for number in range(5):
        await harness.say(marie, f"Question numéro {number} sur les loyers ?")
    replies = await harness.say(marie, "Une sixième question ?")
    assert "patienter" in replies[-1]
    assert len(_tickets(harness)) == 5


async def test_rate_limit_per_day_has_its_own_message(harness: BotHarness) -> None:
    from datetime import timedelta

    from knowledge.desk import tickets
    from knowledge.timeutil import utcnow

    marie = Person(2009)
    asker_id = harness.approved_asker(marie)
    with harness.knowledge.session() as session:  # 30 questions earlier today
        for _ in range(30):
            tickets.submit(session=session, asker_id=asker_id, text="Question ?")
        for ticket in session.query(Ticket):
            ticket.created_at = utcnow() - timedelta(hours=2)
    replies = await harness.say(marie, "Encore une ?")
    assert "aujourd'hui" in replies[-1]
    assert len(_tickets(harness)) == 30


async def test_question_over_4000_characters_is_refused_and_not_stored(
        harness: BotHarness) -> None:
    marie = Person(2010)
    harness.approved_asker(marie)
    replies = await harness.say(marie, "a" * 4001)
    assert "raccourcir" in replies[-1]
    assert _tickets(harness) == []


@pytest.mark.parametrize("text", [
    "Bonjour 👋🏠 le SLS s'applique-t-il ? 🤔",
    "هل يمكن للمستأجر أن يرفض؟ question en arabe",
    "Avant\x00après le NUL",
    "<b>gras</b> & <script>alert(1)</script> &amp; </i>",
])
async def test_unusual_text_is_stored_and_answered_safely(harness: BotHarness,
                                                          text: str) -> None:
    marie = Person(2011)
    harness.approved_asker(marie)
    replies = await harness.say(marie, text)
    [ticket] = _tickets(harness)
    assert "\x00" not in ticket.text and ticket.text.replace("\x00", "")
    assert f"n° {ticket.id}" in replies[-1]
    assert "<script>" not in replies[-1]
    assert harness.errors == []


@pytest.mark.parametrize("extra", [
    {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
    {"sticker": {"file_id": "s", "file_unique_id": "s", "width": 5, "height": 5,
                 "is_animated": False, "is_video": False, "type": "regular"}},
    {"location": {"latitude": 43.3, "longitude": 5.4}},
])
async def test_non_text_messages_get_a_polite_explanation(harness: BotHarness,
                                                          extra: dict[str, object]) -> None:
    marie = Person(2012)
    harness.approved_asker(marie)
    await harness.feed(harness.message(marie, None, extra=extra))
    assert "texte" in harness.transport.texts(marie.id)[-1]
    assert _tickets(harness) == []
    assert harness.errors == []


async def test_edited_message_is_not_a_new_question(harness: BotHarness) -> None:
    marie = Person(2013)
    harness.approved_asker(marie)
    await harness.say(marie, "Question d'origine ?")
    await harness.feed(harness.message(marie, "Question modifiée ?", edited=True))
    assert "modifications" in harness.transport.texts(marie.id)[-1]
    assert [t.text for t in _tickets(harness)] == ["Question d'origine ?"]


async def test_group_chat_is_told_once_then_ignored(harness: BotHarness) -> None:
    marie = Person(2014)
    harness.approved_asker(marie)
    group = {"id": -100123, "type": "supergroup", "title": "Équipe"}
    for text in ("/start", "Une question ?", "/aide"):
        await harness.feed(harness.message(marie, text, chat=group))
    assert harness.transport.texts(-100123) == [
        "Ce bot ne répond qu'en conversation privée. Écrivez-lui directement pour poser une "
        "question au SVP."]
    assert _tickets(harness) == []


async def test_unknown_command_shows_help_and_my_questions_lists_tickets(
        harness: BotHarness) -> None:
    marie = Person(2015)
    harness.approved_asker(marie)
    replies = await harness.say(marie, "/nimporte")
    assert "/mesquestions" in replies[-1]
    await harness.say(marie, "Première question sur la CUS ?")
    replies = await harness.say(marie, "/mesquestions")
    assert "Première question sur la CUS" in replies[-1] and "Nouvelle" in replies[-1]


async def test_new_question_notifies_linked_advisers_with_admin_link(
        harness: BotHarness) -> None:
    from knowledge.people import adviser_links

    with harness.knowledge.session() as session:
        user = User(login="claire", display_name="Claire Conseil", password_hash="x")
        session.add(user)
        session.flush()
        code = adviser_links.issue_code(session=session, user_id=user.id)
    claire = Person(2016, first_name="Claire")
    replies = await harness.say(claire, f"/conseiller {code.lower()}")
    assert "Claire Conseil" in replies[-1]
    marie = Person(2017)
    harness.approved_asker(marie)
    await harness.say(marie, "Question pour les conseillers ?")
    [ticket] = _tickets(harness)
    with harness.knowledge.session() as session:
        [row] = session.query(Outbox).filter_by(kind=OutboxKind.NOTIFICATION.value).all()
        assert row.chat_id == claire.id
        assert f"https://svp.example.org/tickets/{ticket.id}" in row.text
    replies = await harness.say(claire, f"/conseiller {code}")  # used up
    assert "pas valide" in replies[-1]


async def test_feedback_down_asks_for_a_comment_stored_on_the_ticket(
        harness: BotHarness) -> None:
    marie = Person(2018)
    harness.approved_asker(marie)
    await harness.say(marie, "Question à laquelle on répond ?")
    [ticket] = _tickets(harness)
    with harness.knowledge.session() as session:  # 👍/👎 come with a delivered answer
        answered = session.get(Ticket, ticket.id)
        assert answered is not None
        answered.status = TicketStatus.ANSWERED.value
    replies = await harness.click(marie, f"fb:{ticket.id}:-1")
    assert "manque" in replies[-1]
    prompt_id = harness.transport.sent(marie.id)[-1]
    message_id = 5000 + len(harness.transport.sent())  # ids are sequential in the transport
    assert prompt_id.params["reply_markup"]["force_reply"] is True
    replies = await harness.say(marie, "Il manque la référence du décret.", reply_to=message_id)
    assert "commentaire" in replies[-1]
    [ticket] = _tickets(harness)
    assert (ticket.feedback, ticket.feedback_comment) == (-1, "Il manque la référence du décret.")
    assert len(_tickets(harness)) == 1
    await harness.click(marie, f"fb:{ticket.id}:1")
    assert _tickets(harness)[0].feedback == 1


async def test_bot_id_is_the_transports(harness: BotHarness) -> None:
    assert harness.application.bot.id == BOT_ID
