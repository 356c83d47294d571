"""The email channel end to end (issue 24), with real servers: Debian's Dovecot (IMAP over
TLS) and an SMTP server on 127.0.0.1, and `svp mail` as its own process.

A question by email becomes a ticket; its receipt arrives by SMTP in the asker's thread; the
adviser's answer arrives, threaded; a reply in the thread is a follow-up on the same ticket;
the answer is in the knowledge base and found for the next asker, whatever their channel.
Then `svp mail` is killed with SIGKILL during a backlog of 100 emails: 0 lost, 0 stored
twice, each receipt sent once (twice at most for a message in flight at a kill).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from imap_server import ImapServer, imap_server
from mail_server import Mailbox, body_of, smtp_server
from sqlalchemy import func, select, update

from index.embedders import Embedder
from knowledge.desk import review
from knowledge.people import advisers, organisations
from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.models import (
    Asker,
    AskerStatus,
    OrganisationKind,
    Outbox,
    Ticket,
    User,
    UserRole,
)
from knowledge.timeutil import utcnow

SVP = Path(sys.executable).with_name("svp")
MAILBOX = "svp@svp.example"
ASKERS = [f"agent{number}@habitat-test.fr" for number in range(10)]
BACKLOG = 100

pytestmark = pytest.mark.slow


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s for {what}")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[ImapServer, int, Mailbox]]:
    with imap_server(tmp_path, users={MAILBOX: "motdepasse"}) as imap, \
            smtp_server() as (port, box):
        yield imap, port, box


def _world(database_url: str, tmp_path: Path, embedder: Embedder) -> Knowledge:
    knowledge = Knowledge(engine=make_engine(database_url), embedder_factory=lambda: embedder,
                          index_dir=tmp_path / "index-test")
    with knowledge.session() as session:
        org = organisations.create(session=session, name="Habitat Test", actor="test",
                                   kind=OrganisationKind.OPH, departement="13")
        for address in ASKERS:
            session.add(Asker(email=address, organisation_id=org.id, created_at=utcnow(),
                              status=AskerStatus.APPROVED.value, full_name=address))
        advisers.create(session=session, login="camille", password="un mot de passe solide",
                        role=UserRole.ADVISER, display_name="Camille", actor="test")
    return knowledge


def _env(database_url: str, tmp_path: Path, imap: ImapServer, smtp_port: int) -> dict[str, str]:
    return {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
            "SVP_ADMIN_BASE_URL": "https://svp.example",
            "SVP_MAIL_SMTP_HOST": "127.0.0.1", "SVP_MAIL_SMTP_PORT": str(smtp_port),
            "SVP_MAIL_SMTP_SECURITY": "none", "SVP_MAIL_FROM": f"SVP <{MAILBOX}>",
            "SVP_MAIL_INTERVAL_SECONDS": "0.2",
            "SVP_MAIL_IMAP_HOST": imap.host, "SVP_MAIL_IMAP_PORT": str(imap.port),
            "SVP_MAIL_IMAP_USER": MAILBOX, "SVP_MAIL_IMAP_PASSWORD": "motdepasse",
            "SVP_MAIL_IMAP_CAFILE": str(imap.cafile), "SVP_MAIL_IMAP_POLL_SECONDS": "1",
            "SVP_RATE_LIMIT_PER_MINUTE": "10000", "SVP_RATE_LIMIT_PER_DAY": "10000"}


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(SVP), "mail"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _question(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="habitat-test.fr")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _mails_to(box: Mailbox, address: str, starting: str) -> list[EmailMessage]:
    return [message for message in box.to(address)
            if str(message["Subject"]).startswith(starting)]


def test_a_question_by_email_is_answered_in_its_thread_and_its_answer_serves_the_next_one(
        database_url: str, tmp_path: Path, servers: tuple[ImapServer, int, Mailbox],
        e5_embedder: Embedder) -> None:
    imap, smtp_port, box = servers
    knowledge = _world(database_url, tmp_path, e5_embedder)
    process = _start(_env(database_url, tmp_path, imap, smtp_port), tmp_path / "mail.err")
    try:
        question = _question(ASKERS[0], "Gardiens et composteurs",
                             "Bonjour,\n\nNos gardiens peuvent-ils refuser d'entretenir les "
                             "composteurs collectifs installés en pied d'immeuble ?\n\n-- \n"
                             "Agent 0, Habitat Test")
        imap.deliver(MAILBOX, bytes(question))
        ticket_id = _wait(lambda: _ticket_of(knowledge, question["Message-ID"]), 90,
                          "the question stored as a ticket")
        receipt = _wait(lambda: _mails_to(box, ASKERS[0], f"Re: [SVP n° {ticket_id}]"), 60,
                        "the receipt")[0]
        assert receipt["In-Reply-To"] == question["Message-ID"]
        assert f"enregistrée sous le n° {ticket_id}" in body_of(receipt)
        assert "$SvpStored" in imap.flags(MAILBOX, imap.list_uids(MAILBOX)[0])

        with knowledge.session() as session:
            adviser = session.scalars(select(User).where(User.login == "camille")).one()
            outcome = review.approve(
                session=session, ticket_id=ticket_id, adviser=adviser, embedder=e5_embedder,
                approval=review.Approval(
                    answer="Non : l'entretien courant des composteurs collectifs peut figurer "
                           "dans les missions des gardiens, prévues par leur contrat.",
                    publication=review.Publication.NEW, signature="— Camille"))
            entry_id = outcome.entry_id
        answer = _wait(lambda: [m for m in _mails_to(box, ASKERS[0], "Re: [SVP n°")
                                if "composteurs collectifs peut figurer" in body_of(m)], 60,
                       "the answer")[0]
        assert answer["In-Reply-To"] == question["Message-ID"]
        assert f"<svp-question-{ticket_id}@svp.example>" in answer["References"]

        reply = _question(ASKERS[0], f"RE: {answer['Subject']}",
                          "Et si le composteur est installé sur la voie publique ?\n\n"
                          "Le 4 déc. 2026, SVP a écrit :\n> Non : l'entretien courant…",
                          In_Reply_To=answer["Message-ID"], References=answer["Message-ID"])
        imap.deliver(MAILBOX, bytes(reply))
        _wait(lambda: _last_kind(knowledge, ticket_id) == "reopened", 60,
              "the reply as a follow-up on the same ticket")
        with knowledge.session() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 1
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.status == "in_review"
            assert ticket.messages[-1].text == ("Et si le composteur est installé sur la voie "
                                                "publique ?")
    finally:
        _stop(process)
    errors = (tmp_path / "mail.err").read_text()
    assert process.returncode == 0 and "Traceback" not in errors, errors
    # The answer is an entry now: the next asker, by Telegram or by email, is offered it.
    hits = knowledge.similar("Un gardien doit-il entretenir le composteur de la résidence ?",
                             k=3).hits
    assert hits and hits[0].entry_id == entry_id
    knowledge.close()


def _ticket_of(knowledge: Knowledge, message_id: str) -> int | None:
    with knowledge.reading() as session:
        return session.scalars(select(Ticket.id).where(
            Ticket.email_message_id == message_id)).first()


def _last_kind(knowledge: Knowledge, ticket_id: int) -> str | None:
    with knowledge.reading() as session:
        ticket = session.get(Ticket, ticket_id)
        return ticket.messages[-1].kind if ticket is not None else None


def _counts(knowledge: Knowledge) -> tuple[int, int]:
    with knowledge.reading() as session:
        stored = session.scalar(select(func.count()).select_from(MailInboxMessage)) or 0
        asked = session.scalar(select(func.count()).select_from(Ticket)) or 0
        return int(stored), int(asked)


def test_svp_mail_killed_during_a_backlog_of_100_emails_loses_and_doubles_nothing(
        database_url: str, tmp_path: Path, servers: tuple[ImapServer, int, Mailbox],
        e5_embedder: Embedder) -> None:
    imap, smtp_port, box = servers
    knowledge = _world(database_url, tmp_path, e5_embedder)
    sent_ids = []
    for number in range(BACKLOG):
        message = _question(ASKERS[number % len(ASKERS)], f"Question {number}",
                            f"Question numéro {number} sur la régularisation des charges "
                            f"locatives de la résidence {number} ?")
        sent_ids.append(message["Message-ID"])
        imap.deliver(MAILBOX, bytes(message))
    env = _env(database_url, tmp_path, imap, smtp_port)
    log = tmp_path / "mail.err"
    for after in (20, 55):  # tickets stored when the process is killed
        process = _start(env, log)
        _wait(lambda after=after, process=process:
              _counts(knowledge)[1] >= after or process.poll() is not None, 120,
              f"{after} tickets")
        assert process.poll() is None, log.read_text()
        process.kill()  # SIGKILL: no clean-up of any kind
        process.wait()
        with knowledge.session() as session:  # the email in flight waits for its lease
            session.execute(update(Outbox).where(Outbox.status == "pending",
                                                 Outbox.attempts > 0)
                            .values(next_attempt_at=Outbox.created_at))
    process = _start(env, log)
    try:
        _wait(lambda: _counts(knowledge)[1] >= BACKLOG, 180, "every question stored")
        _wait(lambda: len({str(m["In-Reply-To"]) for m in box.messages}) >= BACKLOG, 120,
              "every receipt")
    finally:
        _stop(process)
    with knowledge.reading() as session:
        stored = Counter(session.scalars(select(Ticket.email_message_id)))
        pending = session.scalar(select(func.count()).select_from(MailInboxMessage).where(
            MailInboxMessage.processed_at.is_(None)))
    receipts = Counter(str(message["In-Reply-To"]) for message in box.messages)
    lost = [message_id for message_id in sent_ids if message_id not in stored]
    twice = sum(count - 1 for count in stored.values())
    receipts_twice = sum(1 for count in receipts.values() if count == 2)
    print(f"emails={BACKLOG} lost={len(lost)} stored_twice={twice} "
          f"receipts_sent_twice={receipts_twice}")
    assert lost == [] and twice == 0 and pending == 0
    assert set(receipts) == set(sent_ids)
    assert max(receipts.values()) <= 2 and receipts_twice <= 2
    # Every message was flagged on the server once it was stored.
    assert all("$SvpStored" in imap.flags(MAILBOX, uid) for uid in imap.list_uids(MAILBOX))
    assert "Traceback" not in log.read_text(), log.read_text()
    knowledge.close()
