"""The mail worker on a real SMTP server (aiosmtpd on 127.0.0.1): each email row of the outbox
reaches its reader once, threaded per question, with text and HTML; a server that is down,
refuses an address or defers every other message loses nothing and duplicates nothing."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin"))
from admin_helpers import make_asker, make_ticket, make_user
from mail_server import body_of, free_port, smtp_server

from knowledge.desk import outbox, review
from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, Outbox, OutboxChannel, OutboxKind, Ticket, User
from knowledge.timeutil import utcnow
from mail.delivery import MailDelivery, drain
from mail.smtp import SmtpSettings

SENDER = "SVP <svp@svp.example>"
HELP_URL = "https://svp.example"


def _delivery(port: int) -> MailDelivery:
    return MailDelivery(smtp=SmtpSettings(host="127.0.0.1", port=port, security="none",
                                          sender=SENDER, timeout_seconds=5),
                        site_url=HELP_URL, batch=50)


def _web_ticket(knowledge: Knowledge, email: str = "claire@habitat-test.fr") -> int:
    asker_id = make_asker(knowledge)
    with knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        asker.email, asker.chat_id, asker.telegram_user_id = email, None, None
    ticket_id = make_ticket(knowledge, "Peut-on étaler une régularisation de charges ?",
                            asker_id=asker_id)
    with knowledge.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.channel = "web"
    return ticket_id


def _queue(knowledge: Knowledge, count: int, *, to: str = "paul@habitat-test.fr") -> list[int]:
    with knowledge.session() as session:
        return [outbox.enqueue_email(session=session, kind=OutboxKind.NOTIFICATION, to=to,
                                     subject=f"Message {number}", text=f"Texte n° {number}",
                                     created_by="test").id for number in range(count)]


def _rows(knowledge: Knowledge) -> list[Outbox]:
    with knowledge.session() as session:
        rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
        session.expunge_all()
        return rows


def test_an_answer_reaches_the_member_once_threaded_in_text_and_html(
        knowledge: Knowledge) -> None:
    ticket_id = _web_ticket(knowledge)
    make_user(knowledge, "camille")
    with knowledge.session() as session:
        adviser = session.scalars(select(User).where(User.login == "camille")).one()
        review.request_clarification(session=session, ticket_id=ticket_id, adviser=adviser,
                                     message="De quel montant ?")
        review.approve(session=session, ticket_id=ticket_id, adviser=adviser,
                       approval=review.Approval(
                           answer="**Oui** : l'étalement est de droit, voir "
                                  "[la loi](https://www.legifrance.gouv.fr/loda/id/X).",
                           legal_references=["Loi n° 89-462, art. 23"],
                           signature="— Camille"))
    with smtp_server() as (port, box):
        report = drain(knowledge, _delivery(port))
        assert (report.sent, report.retried, report.failed) == (2, 0, 0)
        assert drain(knowledge, _delivery(port)).sent == 0  # nothing goes twice
        messages = box.wait_for(2)
    rows = _rows(knowledge)
    assert [row.status for row in rows] == ["sent", "sent"]
    precision, answer = messages
    assert answer["To"] == "claire@habitat-test.fr" and answer["From"] == SENDER
    assert answer["Subject"] == f"[SVP n° {ticket_id}] Réponse à votre question"
    assert precision["Subject"] == f"[SVP n° {ticket_id}] Le SVP vous demande une précision"
    # One thread per question; each message its own Message-ID, the one its row keeps.
    thread = f"<svp-question-{ticket_id}@svp.example>"
    assert answer["References"] == thread == precision["In-Reply-To"]
    assert [m["Message-ID"] for m in messages] == [row.mail_message_id for row in rows]
    assert len({m["Message-ID"] for m in messages}) == 2
    text = body_of(answer)
    assert "Oui : l'étalement est de droit, voir la loi (https://www.legifrance.gouv.fr" in text
    assert "**" not in text and "Loi n° 89-462, art. 23" in text and "— Camille" in text
    assert f"{HELP_URL}/aide/questions/{ticket_id}" in text
    html_part = answer.get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert "<b>Oui</b>" in html and 'href="https://www.legifrance.gouv.fr/loda/id/X"' in html
    assert f'href="{HELP_URL}/aide/questions/{ticket_id}"' in html


def test_nothing_is_lost_while_the_server_is_down_and_the_retry_keeps_the_message_id(
        knowledge: Knowledge) -> None:
    [row_id] = _queue(knowledge, 1)
    report = drain(knowledge, _delivery(free_port()))  # nobody listens there
    assert (report.sent, report.retried) == (0, 1)
    [row] = _rows(knowledge)
    assert row.status == "pending" and row.attempts == 1 and row.mail_message_id
    assert row.last_error and "injoignable" in row.last_error
    assert row.next_attempt_at > utcnow()
    first_id = row.mail_message_id
    with smtp_server() as (port, box):
        assert drain(knowledge, _delivery(port)).sent == 0  # the backoff is respected
        later = utcnow() + timedelta(minutes=5)
        assert drain(knowledge, _delivery(port), now=later).sent == 1
        [message] = box.wait_for(1)
    assert message["Message-ID"] == first_id
    [row] = _rows(knowledge)
    assert row.id == row_id and row.status == "sent" and row.attempts == 2


def test_a_refused_address_fails_for_good_and_the_others_still_go(
        knowledge: Knowledge) -> None:
    _queue(knowledge, 2)
    _queue(knowledge, 1, to="parti@habitat-test.fr")
    _queue(knowledge, 2)
    with smtp_server() as (port, box):
        box.refused_addresses.add("parti@habitat-test.fr")
        report = drain(knowledge, _delivery(port))
        assert (report.sent, report.retried, report.failed) == (4, 0, 1)
        assert len(box.wait_for(4)) == 4
    rows = _rows(knowledge)
    failed = [row for row in rows if row.status == "failed"]
    assert [row.email_to for row in failed] == ["parti@habitat-test.fr"]
    assert failed[0].last_error and "550" in failed[0].last_error


def test_a_server_deferring_every_other_message_gets_each_exactly_once(
        knowledge: Knowledge) -> None:
    _queue(knowledge, 20)
    now = utcnow()
    with smtp_server() as (port, box):
        box.defer_every = 2
        for _ in range(30):
            drain(knowledge, _delivery(port), now=now)
            now += timedelta(hours=2)  # past any backoff
            if all(row.status == "sent" for row in _rows(knowledge)):
                break
        received = box.wait_for(20)
    rows = _rows(knowledge)
    assert all(row.status == "sent" for row in rows), [row.last_error for row in rows]
    assert box.deferred >= 10
    counts = Counter(message["Message-ID"] for message in received)
    assert sorted(counts) == sorted(row.mail_message_id for row in rows)
    assert set(counts.values()) == {1}


def test_each_channel_claims_only_its_own_rows(knowledge: Knowledge) -> None:
    _queue(knowledge, 1)
    with knowledge.session() as session:
        outbox.enqueue(session=session, kind=OutboxKind.NOTIFICATION, chat_id=123, text="t",
                       created_by="test")
    with knowledge.session() as session:
        telegram = outbox.claim_due(session=session)
        email = outbox.claim_due(session=session, channel=OutboxChannel.EMAIL)
        assert [row.channel for row in telegram] == ["telegram"]
        assert [row.channel for row in email] == ["email"]


def test_an_answer_with_files_arrives_with_them_as_mime_parts(knowledge: Knowledge) -> None:
    import sample_files

    from knowledge.desk import attachments
    from knowledge.desk.attachments import AttachmentLimits, Upload

    ticket_id = _web_ticket(knowledge)
    make_user(knowledge, "camille")
    letter, plan = sample_files.pdf("Modele de courrier"), sample_files.png()
    files = attachments.check(uploads=[Upload("modèle de courrier.pdf", None, letter),
                                       Upload("plan.png", None, plan)],
                              limits=AttachmentLimits())
    with knowledge.session() as session:
        adviser = session.scalars(select(User).where(User.login == "camille")).one()
        review.approve(session=session, ticket_id=ticket_id, adviser=adviser,
                       approval=review.Approval(answer="Voici le modèle.", files=tuple(files)))
    with smtp_server() as (port, box):
        assert drain(knowledge, _delivery(port)).sent == 1
        [message] = box.wait_for(1)
    assert "Voici le modèle." in body_of(message)
    parts = {part.get_filename(): (part.get_content_type(), part.get_content())
             for part in message.iter_attachments()}
    assert parts == {"modèle de courrier.pdf": ("application/pdf", letter),
                     "plan.png": ("image/png", plan)}
