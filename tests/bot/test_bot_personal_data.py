"""Personal data of an asker through the real bot: /mesdonnees, erasure reaching every table, logs.

The asker's life runs through the real paths: updates committed to the inbox and processed by
the intake, registration conversation, question, adviser notification, answer published to the
knowledge base (phrasing learnt), delivery, 👎 with a comment, subscription, an admin's block
with a reason, a letter sent as a document. Then the asker erases their data with /supprimer,
and every column of every table, stored files' bytes included, is scanned for their name,
username, e-mail and Telegram id.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from datetime import date, datetime
from typing import Any

import pytest
import sample_files
from conftest import BotHarness, Person
from sqlalchemy import select
from telegram import Update

from bot.delivery import drain
from bot.intake import intake_of
from knowledge.desk import outbox, review
from knowledge.desk.drafts import Publication
from knowledge.people import adviser_links, advisers, askers
from knowledge.store.db import Base
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.models import Asker, AskerStatus, OutboxKind, Ticket, User, UserRole
from knowledge.text import fold
from knowledge.timeutil import utcnow

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Ignoring `conversation_timeout`")]

TELEGRAM_ID = 987654321
ADVISER_CHAT = 555000111
FULL_NAME = "Gwenaëlle Kerbrat"
USERNAME = "gkerbrat_svp"
EMAIL = "g.kerbrat@habitat-test.fr"
QUESTION = ("Bonjour, ici Gwenaëlle Kerbrat : un locataire peut-il sous-louer une partie de "
            "son logement social à un étudiant ?")
ANSWER = ("Bonjour Gwenaëlle Kerbrat, la sous-location d'une partie du logement est possible "
          "pour une personne de plus de 60 ans ou un adulte handicapé, avec l'accord du "
          "bailleur, ou pour un étudiant dans certaines conditions.")
LETTER = "Madame Gwenaelle Kerbrat, bail du 12 mars"
COMMENT = "Merci mais il manque le cas des étudiants, signé Kerbrat."
NEEDLES = ("Gwenaëlle", fold("Gwenaëlle"), "Kerbrat", USERNAME, EMAIL, str(TELEGRAM_ID))

GWEN = Person(TELEGRAM_ID, first_name="Gwenaëlle", last_name="Kerbrat", username=USERNAME)


async def _inbox(harness: BotHarness, payload: dict[str, Any]) -> list[str]:
    """Deliver an update the way production does: committed to the inbox, then processed."""
    before = len(harness.transport.texts(TELEGRAM_ID))
    intake = intake_of(harness.application)
    await intake.receive([(payload, Update.de_json(payload, harness.application.bot))])
    await intake.process_pending()
    return harness.transport.texts(TELEGRAM_ID)[before:]


async def _register(harness: BotHarness) -> int:
    harness.organisation("Habitat Test 13")
    await _inbox(harness, harness.message(GWEN, "/start"))
    await _inbox(harness, harness.message(GWEN, FULL_NAME))
    keyboard = harness.transport.last_markup(TELEGRAM_ID)["inline_keyboard"]
    await _inbox(harness, harness.press(GWEN, keyboard[0][0]["callback_data"]))
    await _inbox(harness, harness.message(GWEN, EMAIL))
    await _inbox(harness, harness.press(GWEN, "reg:ok"))
    with harness.knowledge.session() as session:
        asker = askers.get_by_telegram_user_id(session=session, telegram_user_id=TELEGRAM_ID)
        assert asker is not None
        askers.approve(session=session, asker_id=asker.id, actor="user:root")
        return asker.id


async def _life_of_an_asker(harness: BotHarness) -> int:
    """Register, ask, get an answer published, give feedback, subscribe; return the asker id."""
    with harness.knowledge.session() as session:
        adviser = advisers.create(session=session, login="yannick",
                                  password="un mot de passe solide", role=UserRole.ADVISER,
                                  display_name="Yannick Conseil", actor="test")
        code = adviser_links.issue_code(session=session, user_id=adviser.id)
    await harness.feed(harness.message(Person(ADVISER_CHAT, first_name="Yannick"),
                                       f"/conseiller {code}"))
    asker_id = await _register(harness)
    await drain(harness.application.bot, harness.knowledge)
    await _inbox(harness, harness.message(GWEN, QUESTION))
    # A letter naming her, sent right after the question: it joins it (name and bytes).
    await _inbox(harness, harness.document(GWEN, sample_files.pdf(LETTER),
                                           file_name="courrier-kerbrat.pdf"))
    with harness.knowledge.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        user = session.scalars(select(User).where(User.login == "yannick")).one()
        review.approve(session=session, ticket_id=ticket.id, adviser=user,
                       approval=review.Approval(answer=ANSWER, publication=Publication.NEW,
                                                question=QUESTION),
                       embedder=harness.knowledge.embedder)
        ticket_id = ticket.id
    await drain(harness.application.bot, harness.knowledge)
    await _inbox(harness, harness.press(GWEN, f"fb:{ticket_id}:-1"))
    await drain(harness.application.bot, harness.knowledge)
    prompt = harness.transport.next_message_id  # the comment prompt is the last message sent
    await _inbox(harness, harness.message(GWEN, COMMENT, reply_to=prompt))
    await _inbox(harness, harness.message(GWEN, "/abonnement"))
    await _inbox(harness, harness.message(GWEN, "/mesdonnees"))
    with harness.knowledge.session() as session:
        # She wrote by email too: the mail kept raw, and a reply sent to her address.
        raw = (f"From: {FULL_NAME} <{EMAIL}>\r\nSubject: Sous-location\r\n\r\n"
               f"Bonjour, ici {FULL_NAME}.\r\n").encode()
        session.add(MailInboxMessage(mailbox="svp/INBOX", uidvalidity=1, uid=1, raw=raw,
                                     size=len(raw), sender=EMAIL, ticket_id=ticket_id,
                                     processed_at=utcnow(), outcome="follow_up"))
        outbox.enqueue_email(session=session, kind=OutboxKind.RECEIPT, to=EMAIL,
                             subject=f"Re: [SVP n° {ticket_id}] Sous-location",
                             text="Votre message est ajouté.", created_by="mail",
                             ticket_id=ticket_id, asker_id=asker_id)
    with harness.knowledge.session() as session:
        assert session.get(Ticket, ticket_id).feedback_comment == COMMENT  # type: ignore[union-attr]
        askers.block(session=session, asker_id=asker_id, actor="user:root",
                     reason=f"demande de {FULL_NAME} ({EMAIL}) par courriel")
    return asker_id


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _traces(harness: BotHarness) -> list[str]:
    """Every (table.column = value) where one of the asker's identifiers appears."""
    found = []
    with harness.knowledge.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = _plain(value).lower()
                    if any(needle.lower() in text for needle in NEEDLES):
                        found.append(f"{table.name}.{column} = {text[:120]}")
    return found


async def test_erasure_leaves_no_trace_of_the_asker_in_any_table(harness: BotHarness) -> None:
    asker_id = await _life_of_an_asker(harness)
    traces = _traces(harness)
    assert len(traces) > 10  # the scan does see the data before erasure...
    # ...stored files included (their names and bytes), and the mail she sent and received.
    assert {"attachments.filename", "attachments.data", "mail_inbox.raw", "mail_inbox.sender",
            "outbox.email_to"} <= {trace.split(" = ")[0] for trace in traces}
    await _inbox(harness, harness.message(GWEN, "/supprimer"))
    await _inbox(harness, harness.press(GWEN, "erase:yes"))
    assert _traces(harness) == []
    assert harness.errors == []
    with harness.knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None and asker.status == AskerStatus.ERASED.value
        ticket = session.scalars(select(Ticket)).one()
        # The question and answer stay for the knowledge base, names replaced.
        assert "sous-louer une partie de son logement social" in ticket.text
        assert "[effacé]" in ticket.text
        assert any("sous-location" in message.text for message in ticket.messages)
    replies = await _inbox(harness, harness.message(GWEN, "/mesdonnees"))
    assert "Aucune donnée personnelle" in replies[-1]


async def test_no_question_text_name_or_email_in_logs_at_info(
        harness: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await _life_of_an_asker(harness)
    await _inbox(harness, harness.message(GWEN, "/supprimer"))
    await _inbox(harness, harness.press(GWEN, "erase:yes"))
    assert caplog.records  # the paths do log, with ids
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.levelno >= logging.INFO).lower()
    for secret in ("sous-louer", "sous-location", "il manque le cas", FULL_NAME.lower(),
                   "kerbrat", EMAIL, USERNAME, "yannick conseil"):
        assert secret not in logged, secret


def _documents(harness: BotHarness) -> dict[str, bytes]:
    return {name: content for call in harness.transport.calls
            if call.method == "sendDocument" and call.ok for name, content in call.files.items()}


async def test_my_data_sends_the_asker_their_data_as_json_and_csv(harness: BotHarness) -> None:
    await _life_of_an_asker(harness)
    documents = _documents(harness)
    assert set(documents) == {"mes-donnees-svp.json", "mes-donnees-svp.csv"}
    data = json.loads(documents["mes-donnees-svp.json"])
    assert data["demandeur"]["nom"] == FULL_NAME
    assert data["demandeur"]["courriel"] == EMAIL
    assert data["demandeur"]["identifiant_telegram"] == TELEGRAM_ID
    [question] = data["questions"]
    assert question["texte"] == QUESTION
    assert [m["auteur"] for m in question["messages"]][:3] == ["asker", "asker", "adviser"]
    [letter] = question["fichiers"]
    assert (letter["nom"], letter["type"], letter["sens"]) == (
        "courrier-kerbrat.pdf", "application/pdf", "envoyé par vous")
    assert letter["taille_octets"] == len(sample_files.pdf(LETTER))
    assert letter["sha256"] == hashlib.sha256(sample_files.pdf(LETTER)).hexdigest()
    assert any(row["texte"].startswith("Bonjour Gwenaëlle") for row in data["messages_envoyes"])
    rows = dict(csv.reader(io.StringIO(documents["mes-donnees-svp.csv"].decode("utf-8-sig")),
                           delimiter=";"))
    assert rows["demandeur.nom"] == FULL_NAME
    assert rows["questions[1].texte"] == QUESTION
    assert rows["questions[1].fichiers[1].nom"] == "courrier-kerbrat.pdf"
    [caption] = [call.params.get("caption") for call in harness.transport.calls
                 if call.method == "sendDocument" and call.params.get("caption")]
    assert "copie" in str(caption)


async def test_my_data_for_an_unknown_user_says_nothing_is_stored(harness: BotHarness) -> None:
    replies = await harness.say(Person(4242), "/mesdonnees")
    assert "Aucune donnée personnelle" in replies[-1]
    assert _documents(harness) == {}


async def test_my_data_refused_by_telegram_tells_the_asker_to_try_again(
        harness: BotHarness) -> None:
    marie = Person(4243)
    harness.approved_asker(marie)
    harness.transport.plan("sendDocument", (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}}))
    replies = await harness.say(marie, "/mesdonnees")
    assert "Réessayez /mesdonnees" in replies[-1]
    assert harness.errors == []
    replies = await harness.say(marie, "/mesdonnees")  # asked again: the file goes
    assert "mes-donnees-svp.json" in _documents(harness)


async def test_the_bot_runs_the_retention_purge_once_a_day(harness: BotHarness) -> None:
    from datetime import timedelta

    from bot.context import SERVICES_KEY
    from knowledge.store.models import InboxUpdate
    from knowledge.timeutil import utcnow

    assert harness.application.job_queue is not None
    assert harness.application.job_queue.get_jobs_by_name("retention")
    with harness.knowledge.session() as session:
        old = utcnow() - timedelta(days=harness.config.retention.inbox_days + 1)
        session.add(InboxUpdate(update_id=1, chat_id=1, kind="message", payload={},
                                received_at=old, processed_at=old))
    services = harness.application.bot_data[SERVICES_KEY]
    report = services.purge_if_due()
    assert report is not None and report.counts["inbox"] == 1
    assert services.purge_if_due() is None  # done today, by this process or another
