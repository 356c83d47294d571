"""What becomes of a stored email: a question, a follow-up on its ticket, or nothing at all.

Each message of the durable mail inbox is processed in one unit of work that writes the
ticket (or the follow-up), the reply to send and the message's outcome together: replayed
after a crash, a processed message is skipped, an unprocessed one is processed once. The
search for suggestions runs before that unit (it only reads).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.desk import mail_actions, mail_questions, outbox, tickets
from knowledge.errors import DomainError
from knowledge.people import mail_senders
from knowledge.people.mail_senders import SenderKind
from knowledge.retrieval import passages
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.models import OutboxKind, Ticket
from knowledge.timeutil import utcnow
from mail import reading

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SIGN_OFF = "\n\n— Le SVP"


@dataclass(frozen=True)
class IntakeConfig:
    """How the processor answers: our address, the site's address, the rules of the desk."""

    own_address: str  # the SVP's sender address (From of our mail)
    own_domain: str
    site_url: str | None = None  # SVP_ADMIN_BASE_URL: one-click links and entry pages
    help_centre: bool = True
    auth_failure: str = "flag"  # "flag" (a note on the ticket) or "refuse"
    trusted_servers: tuple[str, ...] = ()
    suggestions: int = 3
    per_minute: int = 5
    per_day: int = 30


def _reply(session: Session, *, to: str, subject: str, text: str, kind: OutboxKind,
           read: reading.ReadMail, ticket_id: int | None = None,
           asker_id: int | None = None) -> None:
    outbox.enqueue_email(session=session, kind=kind, to=to, subject=subject, text=text,
                         created_by="mail", ticket_id=ticket_id, asker_id=asker_id,
                         in_reply_to=read.message_id)


def _subject(read: reading.ReadMail) -> str:
    return f"Re: {read.subject}" if read.subject else "Votre message au SVP"


def _site(config: IntakeConfig, path: str) -> str | None:
    return f"{config.site_url.rstrip('/')}{path}" if config.site_url else None


def receipt_text(*, config: IntakeConfig, ticket_id: int, hits: list[SearchHit],
                 shown: dict[int, str], self_served: str | None,
                 wait: str | None) -> str:
    """The French receipt of a question asked by email, its suggestions and one-click links."""
    lines = ["Bonjour,", "",
             f"Votre question est enregistrée sous le n° {ticket_id}. Un conseiller du SVP vous "
             "répondra par courriel, dans ce fil."]
    if hits:
        lines += ["", "Ces réponses déjà données par le SVP peuvent vous aider :"]
        for number, hit in enumerate(hits, start=1):
            lines += ["", f"{number}. {hit.question}", f"   « {shown.get(hit.entry_id, '')} »"]
            page = _site(config, f"/aide/fiches/{hit.entry_id}") if config.help_centre else None
            if page:
                lines.append(f"   Lire la fiche : {page}")
        if self_served and wait:
            lines += ["", f"Une de ces réponses vous suffit : {self_served}",
                      f"Vous attendez un conseiller : {wait}"]
    lines += ["", "Pour compléter votre question, répondez simplement à ce courriel (gardez "
                  f"« [SVP n° {ticket_id}] » dans l'objet)."]
    return "\n".join(lines) + SIGN_OFF


UNKNOWN_TEXT = (
    "Bonjour,\n\nVotre message n'a pas été transmis : votre adresse n'est pas celle d'un "
    "salarié d'un organisme adhérent connu du SVP.\n\nPour poser vos questions au SVP, "
    "demandez à votre organisme le code d'invitation et inscrivez-vous auprès du bot Telegram "
    "du SVP, ou demandez au SVP d'enregistrer votre adresse. Votre message n'a pas été "
    "conservé." + SIGN_OFF)
PENDING_TEXT = (
    "Bonjour,\n\nVotre adresse est bien celle d'un organisme adhérent. Un conseiller du SVP "
    "doit encore valider votre accès : votre question lui sera transmise dès la validation, "
    "et vous recevrez alors son numéro. Inutile de la renvoyer." + SIGN_OFF)
LIMIT_TEXT = (
    "Bonjour,\n\nVous avez envoyé beaucoup de questions en peu de temps : celle-ci n'a pas été "
    "enregistrée. Renvoyez-la un peu plus tard, ou regroupez vos questions." + SIGN_OFF)
EMPTY_TEXT = (
    "Bonjour,\n\nVotre message ne contient pas de question lisible : écrivez-la dans le "
    "corps du courriel (en texte), puis renvoyez-le." + SIGN_OFF)
CLOSED_TEXT = (
    "Bonjour,\n\nLa question n° {number} est close depuis plus de 30 jours : votre message "
    "est enregistré comme une nouvelle question, n° {new}." + SIGN_OFF)


def _search(knowledge: Knowledge, config: IntakeConfig, text: str
            ) -> tuple[list[SearchHit], float | None]:
    if not text or config.suggestions <= 0:
        return [], None
    try:
        result = knowledge.similar(text, k=config.suggestions, min_score=-1.0)
        threshold = knowledge.abstain_threshold
    except Exception:  # the question is stored all the same; advisers answer it
        logger.exception("search failed for a question received by email")
        return [], None
    hits = [hit for hit in result.hits[:config.suggestions] if hit.score >= threshold]
    return hits, max((hit.score for hit in result.hits), default=None)


def _finish(row: MailInboxMessage, outcome: str, ticket_id: int | None = None,
            now: datetime | None = None) -> str:
    row.outcome = outcome
    row.ticket_id = ticket_id
    row.processed_at = now or utcnow()
    row.last_error = None
    return outcome


def _forget(row: MailInboxMessage) -> None:
    """Keep of an unknown sender's mail only what stops it being read again (its UID)."""
    row.raw = b""
    row.sender = None
    row.message_id = None


def _new_question(session: Session, row: MailInboxMessage, read: reading.ReadMail, *,
                  asker_id: int, config: IntakeConfig, hits: list[SearchHit],
                  top_score: float | None, warning: str | None, closed: int | None) -> str:
    if tickets.limit_reached(session=session, asker_id=asker_id, per_minute=config.per_minute,
                             per_day=config.per_day) is not None:
        _reply(session, to=read.sender, subject=_subject(read), text=LIMIT_TEXT,
               kind=OutboxKind.RECEIPT, read=read, asker_id=asker_id)
        return _finish(row, "over_limit")
    ticket = mail_questions.ask(session=session, asker_id=asker_id, subject=read.subject,
                                text=read.text, message_id=read.message_id,
                                admin_base_url=config.site_url, warning=warning)
    tickets.record_suggestions(session=session, ticket_id=ticket.id,
                               entry_ids=[hit.entry_id for hit in hits], top_score=top_score)
    links: dict[str, str | None] = {mail_actions.SELF_SERVED: None, mail_actions.WAIT: None}
    if hits and config.site_url and config.help_centre:
        for action in links:
            token = mail_actions.issue(session=session, ticket_id=ticket.id, action=action)
            links[action] = _site(config, f"/aide/courriel/{token}")
    text = receipt_text(config=config, ticket_id=ticket.id, hits=hits,
                        shown=passages.shown_texts(hits),
                        self_served=links[mail_actions.SELF_SERVED],
                        wait=links[mail_actions.WAIT])
    if closed is not None:
        text = CLOSED_TEXT.format(number=closed, new=ticket.id).removesuffix(SIGN_OFF) \
            + "\n\n" + text.removeprefix("Bonjour,\n\n")
    outbox.enqueue_email(session=session, kind=OutboxKind.RECEIPT, to=read.sender,
                         subject=_ticket_subject(ticket), text=text, created_by="mail",
                         ticket_id=ticket.id, asker_id=asker_id, in_reply_to=read.message_id)
    return _finish(row, "question", ticket.id)


def _ticket_subject(ticket: Ticket) -> str:
    own = ticket.email_subject or "Votre question au SVP"
    return f"Re: [SVP n° {ticket.id}] {own}"


def _decide(session: Session, row: MailInboxMessage, read: reading.ReadMail, *,
            config: IntakeConfig, hits: list[SearchHit], top_score: float | None) -> str:
    if read.message_id and session.scalars(select(MailInboxMessage.id).where(
            MailInboxMessage.message_id == read.message_id, MailInboxMessage.id != row.id,
            MailInboxMessage.processed_at.is_not(None),
            MailInboxMessage.outcome != "duplicate")).first() is not None:
        return _finish(row, "duplicate")  # the same mail under another UID (a copy)
    if read.automatic is not None:
        logger.info("mail %s not answered: %s", row.id, read.automatic)
        return _finish(row, "automatic")
    warning = read.authentication_failed
    if warning and config.auth_failure == "refuse":
        logger.warning("mail %s refused: %s", row.id, warning)
        return _finish(row, "authentication_failed")
    sender = mail_senders.identify_sender(session=session, address=read.sender)
    if sender.kind is SenderKind.UNKNOWN:
        if read.sender and not warning and mail_senders.unknown_reply_due(
                session=session, address=read.sender):
            _reply(session, to=read.sender, subject=_subject(read), text=UNKNOWN_TEXT,
                   kind=OutboxKind.REGISTRATION, read=read)
        _forget(row)
        return _finish(row, "unknown_sender")
    if sender.kind is SenderKind.BLOCKED:
        return _finish(row, "blocked_sender")
    assert sender.asker_id is not None
    if sender.kind is SenderKind.PENDING:
        if sender.created:
            _reply(session, to=read.sender, subject=_subject(read), text=PENDING_TEXT,
                   kind=OutboxKind.REGISTRATION, read=read, asker_id=sender.asker_id)
        return _finish(row, mail_senders.HELD)
    if not read.text and not read.subject:
        _reply(session, to=read.sender, subject=_subject(read), text=EMPTY_TEXT,
               kind=OutboxKind.RECEIPT, read=read, asker_id=sender.asker_id)
        return _finish(row, "empty")
    thread = mail_questions.find_thread(session=session, references=read.references,
                                        ticket_number=read.ticket_number,
                                        asker_id=sender.asker_id)
    closed = None
    if thread is not None and read.text:
        done = mail_questions.follow_up(session=session, ticket=thread,
                                        asker_id=sender.asker_id, text=read.text)
        if done is not None:
            return _finish(row, "follow_up", thread.id)
        closed = thread.id
    return _new_question(session, row, read, asker_id=sender.asker_id, config=config,
                         hits=hits, top_score=top_score, warning=warning, closed=closed)


def process(knowledge: Knowledge, config: IntakeConfig, *, inbox_id: int) -> str | None:
    """Process one stored mail (nothing when it was processed already); return its outcome."""
    with knowledge.reading() as session:
        row = session.get(MailInboxMessage, inbox_id)
        if row is None or row.processed_at is not None:
            return None
        raw = bytes(row.raw or b"")
    read = reading.read(raw, own_domain=config.own_domain, own_address=config.own_address,
                        trusted_servers=config.trusted_servers)
    wanted = read.automatic is None and not read.references and read.ticket_number is None
    hits, top_score = _search(knowledge, config, mail_questions.question_text(
        read.subject, read.text)) if wanted else ([], None)
    try:
        with knowledge.session() as session:
            row = session.get(MailInboxMessage, inbox_id)
            if row is None or row.processed_at is not None:  # another process was first
                return None
            return _decide(session, row, read, config=config, hits=hits, top_score=top_score)
    except DomainError as error:  # refused by the desk's rules: said once, never retried
        with knowledge.session() as session:
            row = session.get(MailInboxMessage, inbox_id)
            if row is None:
                return None
            logger.warning("mail %s not taken: %s", inbox_id, error)
            return _finish(row, "refused")


def process_pending(knowledge: Knowledge, config: IntakeConfig, *, limit: int = 50) -> int:
    """Process the stored mail not processed yet, oldest first; return how many were."""
    with knowledge.reading() as session:
        ids = list(session.scalars(
            select(MailInboxMessage.id).where(MailInboxMessage.processed_at.is_(None),
                                              MailInboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(MailInboxMessage.id).limit(limit)))
    done = 0
    for inbox_id in ids:
        try:
            if process(knowledge, config, inbox_id=inbox_id) is not None:
                done += 1
        except Exception as error:  # one bad mail must not stop the others
            logger.exception("mail %s could not be processed", inbox_id)
            with knowledge.session() as session:
                row = session.get(MailInboxMessage, inbox_id)
                if row is not None:
                    row.attempts = (row.attempts or 0) + 1
                    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    return done
