"""Questions by email (issue 24, points 1 to 3), from the durable mail inbox to the desk and
back: an approved asker's question becomes a ticket with its receipt, threaded; the answer
goes back in the thread; a reply there is a follow-up on the same ticket; unknown senders,
pending ones, robots, forged senders and hostile mail are each handled, nothing half-stored."""

from __future__ import annotations

import sys
from email.message import EmailMessage
from email.utils import make_msgid
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin"))
from admin_helpers import make_entry, make_user

from knowledge.desk import mail_actions, review
from knowledge.people import askers, members, organisations
from knowledge.runtime import Knowledge
from knowledge.store.mail_models import MailAction, MailInboxMessage
from knowledge.store.models import (
    Asker,
    AskerStatus,
    OrganisationKind,
    Outbox,
    Ticket,
    TicketMessage,
    User,
)
from knowledge.timeutil import utcnow
from mail.processing import IntakeConfig, process_pending

CONFIG = IntakeConfig(own_address="svp@svp.example", own_domain="svp.example",
                      site_url="https://svp.example")
MEMBER = "claire@habitat-test.fr"
_uids = count(1)


def _organisation(knowledge: Knowledge, *, domain: str | None = None) -> int:
    with knowledge.session() as session:
        org = organisations.find_by_name(session=session, name="Habitat Test")
        if org is None:
            org = organisations.create(session=session, name="Habitat Test", actor="test",
                                       kind=OrganisationKind.OPH, departement="13")
        if domain:
            members.set_domains(session=session, organisation_id=org.id, domains=[domain],
                                actor="test")
        return org.id


def _asker(knowledge: Knowledge, email: str = MEMBER,
           status: str = AskerStatus.APPROVED.value) -> int:
    organisation_id = _organisation(knowledge)
    with knowledge.session() as session:
        asker = Asker(email=email, organisation_id=organisation_id, status=status,
                      full_name="Claire Martin", created_at=utcnow())
        session.add(asker)
        session.flush()
        return asker.id


def _mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "svp@svp.example"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="habitat-test.fr"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _receive(knowledge: Knowledge, raw: bytes | EmailMessage) -> int:
    data = bytes(raw) if isinstance(raw, EmailMessage) else raw
    with knowledge.session() as session:
        row = MailInboxMessage(mailbox="INBOX", uidvalidity=1, uid=next(_uids), raw=data,
                               size=len(data), received_at=utcnow())
        if isinstance(raw, EmailMessage):
            row.message_id, row.sender = raw["Message-ID"], raw["From"].lower()
        session.add(row)
        session.flush()
        return row.id


def _row(knowledge: Knowledge, inbox_id: int) -> MailInboxMessage:
    with knowledge.session() as session:
        row = session.get(MailInboxMessage, inbox_id)
        assert row is not None
        assert row.raw is not None  # loaded before the session closes (a deferred column)
        session.expunge(row)
        return row


def _sent(knowledge: Knowledge) -> list[Outbox]:
    with knowledge.session() as session:
        rows = list(session.scalars(select(Outbox).where(Outbox.channel == "email")
                                    .order_by(Outbox.id)))
        session.expunge_all()
        return rows


def _adviser(knowledge: Knowledge) -> User:
    make_user(knowledge, "camille")
    with knowledge.session() as session:
        user = session.scalars(select(User).where(User.login == "camille")).one()
        session.expunge(user)
        return user


def test_a_question_by_email_gets_a_receipt_an_answer_in_its_thread_and_a_follow_up(
        knowledge: Knowledge) -> None:
    entry_id = make_entry(knowledge, "Un locataire peut-il demander l'étalement d'une "
                          "régularisation de charges ?",
                          "Oui : la régularisation peut être étalée sur douze mois à la demande "
                          "du locataire (loi du 6 juillet 1989, article 23).")
    asker_id = _asker(knowledge)
    question = _mail(MEMBER, "Étalement de la régularisation des charges",
                     "Bonjour,\n\nUn locataire demande d'étaler sa régularisation de charges "
                     "sur douze mois : devons-nous accepter ?\n\n-- \nClaire Martin\nHabitat "
                     "Test")
    inbox_id = _receive(knowledge, question)
    assert process_pending(knowledge, CONFIG) == 1
    assert process_pending(knowledge, CONFIG) == 0  # processed once
    row = _row(knowledge, inbox_id)
    assert row.outcome == "question" and row.ticket_id is not None
    with knowledge.session() as session:
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and ticket.channel == "email"
        assert ticket.asker_id == asker_id and ticket.status == "new"
        assert ticket.email_message_id == question["Message-ID"]
        assert "Claire Martin\nHabitat" not in ticket.text  # the signature stays out
        assert ticket.text.startswith("Étalement de la régularisation des charges")
        assert ticket.suggested_entry_ids == [entry_id]
        ticket_id = ticket.id
    [receipt] = _sent(knowledge)
    assert receipt.email_to == MEMBER and receipt.in_reply_to == question["Message-ID"]
    assert receipt.subject == (f"Re: [SVP n° {ticket_id}] Étalement de la régularisation des "
                               "charges")
    assert f"enregistrée sous le n° {ticket_id}" in receipt.text
    assert "étalée sur douze mois" in receipt.text
    assert f"https://svp.example/aide/fiches/{entry_id}" in receipt.text
    assert receipt.text.count("https://svp.example/aide/courriel/") == 2

    adviser = _adviser(knowledge)
    with knowledge.session() as session:
        review.approve(session=session, ticket_id=ticket_id, adviser=adviser,
                       approval=review.Approval(answer="Oui, l'étalement est de droit.",
                                                signature="— Camille"))
    answer = _sent(knowledge)[-1]
    assert answer.kind == "answer" and answer.email_to == MEMBER
    assert answer.in_reply_to == question["Message-ID"]
    assert answer.subject == receipt.subject

    # Her reply in the thread (Outlook quotes the answer under it) reopens the same ticket.
    reply = _mail(MEMBER, f"RE: {answer.subject}",
                  "Merci. Et si le locataire quitte le logement avant la fin ?\n\n"
                  "De : SVP <svp@svp.example>\nEnvoyé : jeudi 3 décembre 2026 10:00\n"
                  "Objet : ...\n\nOui, l'étalement est de droit.",
                  In_Reply_To="<answer-id@svp.example>",
                  References=f"<svp-question-{ticket_id}@svp.example>")
    follow_id = _receive(knowledge, reply)
    assert process_pending(knowledge, CONFIG) == 1
    assert _row(knowledge, follow_id).outcome == "follow_up"
    with knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "in_review"
        last = ticket.messages[-1]
        assert last.kind == "reopened" and last.author == "asker"
        assert last.text == "Merci. Et si le locataire quitte le logement avant la fin ?"


def test_a_one_click_link_acts_once_and_a_visit_alone_changes_nothing(
        knowledge: Knowledge) -> None:
    _asker(knowledge)
    make_entry(knowledge, "Qui paie la taxe d'enlèvement des ordures ménagères ?",
               "Le locataire, au titre des charges récupérables.")
    _receive(knowledge, _mail(MEMBER, "TEOM", "Qui paie la taxe d'enlèvement des ordures "
                                              "ménagères dans nos résidences ?"))
    process_pending(knowledge, CONFIG)
    with knowledge.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert session.scalar(select(func.count()).select_from(MailAction)) == 2
        token = mail_actions.issue(session=session, ticket_id=ticket.id,
                                   action=mail_actions.SELF_SERVED)
        ticket_id = ticket.id
    with knowledge.session() as session:
        assert mail_actions.peek(session=session, token=token) is not None
        assert session.get(Ticket, ticket_id).status == "new"  # type: ignore[union-attr]
    with knowledge.session() as session:
        mail_actions.use(session=session, token=token)
    with knowledge.session() as session:
        assert session.get(Ticket, ticket_id).status == "self_served"  # type: ignore[union-attr]
        assert mail_actions.peek(session=session, token=token) is None
    with pytest.raises(Exception, match="n'est plus valable"), knowledge.session() as session:
        mail_actions.use(session=session, token=token)


def test_an_unknown_sender_gets_one_explanation_a_day_and_nothing_is_kept(
        knowledge: Knowledge) -> None:
    _organisation(knowledge)
    first = _receive(knowledge, _mail("inconnu@ailleurs.example", "Question", "Bonjour ?"))
    second = _receive(knowledge, _mail("inconnu@ailleurs.example", "Encore", "Allô ?"))
    assert process_pending(knowledge, CONFIG) == 2
    replies = _sent(knowledge)
    assert [row.email_to for row in replies] == ["inconnu@ailleurs.example"]
    assert "n'est pas celle d'un salarié d'un organisme adhérent" in replies[0].text
    for inbox_id in (first, second):
        row = _row(knowledge, inbox_id)
        assert row.outcome == "unknown_sender"
        assert (row.raw, row.sender, row.message_id) == (b"", None, None)
    with knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert session.scalar(select(func.count()).select_from(Asker)) == 0


def test_an_address_of_a_declared_domain_waits_for_approval_then_its_mail_is_asked(
        knowledge: Knowledge) -> None:
    _organisation(knowledge, domain="logis-test.fr")
    held = _receive(knowledge, _mail("paul@logis-test.fr", "Surloyer",
                                     "Le SLS est-il dû en QPV ?"))
    process_pending(knowledge, CONFIG)
    assert _row(knowledge, held).outcome == "held"
    [pending] = _sent(knowledge)
    assert "doit encore valider votre accès" in pending.text
    with knowledge.session() as session:
        asker = session.scalars(select(Asker)).one()
        assert (asker.email, asker.status) == ("paul@logis-test.fr", "pending")
        askers.approve(session=session, asker_id=asker.id, actor="user:camille")
    assert process_pending(knowledge, CONFIG) == 1
    row = _row(knowledge, held)
    assert row.outcome == "question" and row.ticket_id is not None
    receipt = _sent(knowledge)[-1]
    assert receipt.kind == "receipt" and receipt.email_to == "paul@logis-test.fr"
    assert f"enregistrée sous le n° {row.ticket_id}" in receipt.text
    with knowledge.session() as session:
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and "Le SLS est-il dû en QPV ?" in ticket.text


@pytest.mark.parametrize(("headers", "sender"), [
    ({"Auto_Submitted": "auto-replied"}, MEMBER),
    ({"Precedence": "bulk"}, MEMBER),
    ({"Return_Path": "<>"}, MEMBER),
    ({"List_Id": "<locataires.lists.example>"}, MEMBER),
    ({}, "MAILER-DAEMON@habitat-test.fr"),
    ({}, "svp@svp.example"),
    ({"message_id": "<loop-1@svp.example>"}, MEMBER),
])
def test_robots_bounces_lists_and_loops_are_never_answered(
        knowledge: Knowledge, headers: dict[str, str], sender: str) -> None:
    _asker(knowledge)
    inbox_id = _receive(knowledge, _mail(sender, "Absence", "Je suis absente.", **headers))
    process_pending(knowledge, CONFIG)
    assert _row(knowledge, inbox_id).outcome == "automatic"
    assert _sent(knowledge) == []
    with knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize("policy", ["flag", "refuse"])
def test_a_forged_sender_is_flagged_or_refused(knowledge: Knowledge, policy: str) -> None:
    _asker(knowledge)
    forged = _mail(MEMBER, "Urgent", "Virez 10 000 euros.",
                   Authentication_Results="mx.svp.example; spf=fail smtp.mailfrom=x; "
                                          "dkim=none; dmarc=fail header.from=habitat-test.fr")
    inbox_id = _receive(knowledge, forged)
    config = IntakeConfig(own_address=CONFIG.own_address, own_domain=CONFIG.own_domain,
                          site_url=CONFIG.site_url, auth_failure=policy,
                          trusted_servers=("mx.svp.example",))
    process_pending(knowledge, config)
    row = _row(knowledge, inbox_id)
    with knowledge.session() as session:
        tickets = list(session.scalars(select(Ticket)))
        notes = list(session.scalars(select(TicketMessage.text).where(
            TicketMessage.author == "system")))
    if policy == "refuse":
        assert row.outcome == "authentication_failed" and tickets == [] and _sent(knowledge) == []
    else:
        assert row.outcome == "question" and len(tickets) == 1
        assert any("DMARC en échec" in note and "usurpé" in note for note in notes)


def test_hostile_and_broken_mail_is_handled_without_a_crash(knowledge: Knowledge) -> None:
    _asker(knowledge)
    html = EmailMessage()
    html["From"] = MEMBER
    html["Subject"] = "Question"
    html["Message-ID"] = "<html-1@habitat-test.fr>"
    html.set_content("<html><head><script>alert('x')</script><style>p{}</style></head><body>"
                     "<p>Le <b>SLS</b> est-il dû&nbsp;?</p><img src=x onerror=alert(1)>"
                     "</body></html>", subtype="html")
    broken = (b"From: claire@habitat-test.fr\r\nSubject: =?utf-8?b?QnJva2Vu\r\n"
              b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n--other\r\n"
              b"garbage \xff\xfe\r\n")
    eight_bit = ("From: Clàire <claire@habitat-test.fr>\r\nSubject: Régularisation été\r\n"
                 "\r\nLe dépôt de garantie est-il rendu en deux mois ?\r\n").encode("latin-1")
    ids = [_receive(knowledge, html), _receive(knowledge, broken),
           _receive(knowledge, eight_bit), _receive(knowledge, b"\x00\x01 not a mail")]
    process_pending(knowledge, CONFIG)
    outcomes = [_row(knowledge, inbox_id).outcome for inbox_id in ids]
    assert None not in outcomes, outcomes  # each one decided, none left failing
    with knowledge.session() as session:
        texts = list(session.scalars(select(Ticket.text).order_by(Ticket.id)))
    assert any("SLS" in text and "alert" not in text and "<" not in text for text in texts)
    # Each decided at its first attempt, without an error.
    assert all(row.attempts == 1 and row.last_error is None
               for row in (_row(knowledge, i) for i in ids))


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


def _zip_bomb() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (20 * 1024 * 1024))
    return buffer.getvalue()


def test_attached_files_are_kept_checked_and_the_refused_ones_named_in_the_receipt(
        knowledge: Knowledge) -> None:
    from knowledge.store.mail_models import Attachment

    _asker(knowledge)
    question = _mail(MEMBER, "Courrier du locataire",
                     "Voici le courrier reçu et la décision de la CAL : que répondre ?")
    question.add_attachment(_pdf(), maintype="application", subtype="pdf",
                            filename="décision CAL.pdf")
    question.add_attachment(b"MZ\x90\x00" + b"\0" * 200, maintype="application",
                            subtype="pdf", filename="facture.pdf")  # a program, renamed
    question.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * (30 * 1024 * 1024),
                            maintype="image", subtype="png", filename="photo.png")
    question.add_attachment(_zip_bomb(), maintype="application",
                            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                            filename="bail.docx")
    inbox_id = _receive(knowledge, question)
    process_pending(knowledge, CONFIG)
    row = _row(knowledge, inbox_id)
    assert row.outcome == "question" and row.ticket_id is not None
    with knowledge.session() as session:
        files = list(session.scalars(select(Attachment).where(
            Attachment.ticket_id == row.ticket_id)))
        assert [(f.filename, f.content_type, f.source, f.direction) for f in files] == [
            ("décision CAL.pdf", "application/pdf", "email", "in")]
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and "que répondre ?" in ticket.text  # the text is kept
    [receipt] = _sent(knowledge)
    assert "Fichiers reçus avec votre question : décision CAL.pdf." in receipt.text
    for name in ("facture.pdf", "photo.png", "bail.docx"):
        assert f"« {name} »" in receipt.text, receipt.text


def test_a_file_sent_alone_in_the_thread_joins_the_open_question(knowledge: Knowledge) -> None:
    from knowledge.store.mail_models import Attachment

    _asker(knowledge)
    first = _mail(MEMBER, "Plan de la résidence", "Le local vélo peut-il devenir un local "
                                                  "poubelles ?")
    process_id = _receive(knowledge, first)
    process_pending(knowledge, CONFIG)
    ticket_id = _row(knowledge, process_id).ticket_id
    reply = _mail(MEMBER, f"Re: [SVP n° {ticket_id}] Plan de la résidence", "",
                  In_Reply_To=first["Message-ID"])
    reply.clear_content()
    reply.set_content("")
    reply.add_attachment(_pdf(), maintype="application", subtype="pdf", filename="plan.pdf")
    reply_id = _receive(knowledge, reply)
    process_pending(knowledge, CONFIG)
    assert _row(knowledge, reply_id).outcome == "follow_up"
    with knowledge.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        files = list(session.scalars(select(Attachment.filename).where(
            Attachment.ticket_id == ticket_id)))
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.messages[-1].text == "Documents joints : plan.pdf"
    assert files == ["plan.pdf"]
