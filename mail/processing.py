"""What becomes of a stored email: a question, a follow-up on its ticket, or nothing at all.

Each message of the durable mail inbox is processed in one unit of work that writes the
ticket (or the follow-up), the reply to send and the message's outcome together: replayed
after a crash, a processed message is skipped, an unprocessed one is processed once. The
search for suggestions runs before that unit (it only reads).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.desk import (
    attachments,
    mail_actions,
    mail_inbox,
    mail_questions,
    outbox,
    reaching,
    tickets,
)
from knowledge.errors import DomainError
from knowledge.people import mail_senders
from knowledge.people.mail_senders import SenderKind
from knowledge.retrieval import passages
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.mail_models import MailInboxMessage
from knowledge.store.models import MessageAuthor, OutboxKind, Ticket, TicketMessage
from mail import reading

logger = logging.getLogger(__name__)

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
    limits: attachments.AttachmentLimits = field(default_factory=attachments.AttachmentLimits)


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


Decision = tuple[str, int | None]  # the outcome of a mail, and its ticket


def _forget(session: Session, inbox_id: int) -> None:
    """Keep of an unknown sender's mail only what stops it being read again (its UID)."""
    row = session.get(MailInboxMessage, inbox_id)
    if row is not None:
        row.raw = b""
        row.sender = None
        row.message_id = None


def _files(read: reading.ReadMail, config: IntakeConfig
           ) -> tuple[list[attachments.Accepted], list[attachments.Refused]]:
    """The attached files the desk keeps, and those it refuses (with the French reason)."""
    return attachments.accept(
        uploads=[attachments.Upload(filename=part.filename, declared_type=part.content_type,
                                    data=part.data) for part in read.attachments],
        limits=config.limits)


def _keep_files(session: Session, ticket: Ticket, accepted: list[attachments.Accepted],
                created_by: str) -> None:
    """Attach the accepted files to the asker's latest message of the ticket."""
    if not accepted:
        return
    session.flush()
    message_id = session.scalars(select(TicketMessage.id).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.author == MessageAuthor.ASKER.value)
        .order_by(TicketMessage.id.desc()).limit(1)).first()
    if message_id is not None:
        attachments.store_all(session=session, ticket_id=ticket.id,
                              ticket_message_id=message_id, uploads=accepted, source="email",
                              created_by=created_by)


def _new_question(session: Session, read: reading.ReadMail, *, text: str,
                  asker_id: int, config: IntakeConfig, hits: list[SearchHit],
                  top_score: float | None, warning: str | None, closed: int | None,
                  accepted: list[attachments.Accepted], refused: list[attachments.Refused]
                  ) -> Decision:
    if tickets.limit_reached(session=session, asker_id=asker_id, per_minute=config.per_minute,
                             per_day=config.per_day) is not None:
        _reply(session, to=read.sender, subject=_subject(read), text=LIMIT_TEXT,
               kind=OutboxKind.RECEIPT, read=read, asker_id=asker_id)
        return "over_limit", None
    ticket = mail_questions.ask(session=session, asker_id=asker_id, subject=read.subject,
                                text=text, message_id=read.message_id,
                                admin_base_url=config.site_url, warning=warning)
    _keep_files(session, ticket, accepted, f"asker:{asker_id}")
    tickets.record_suggestions(session=session, ticket_id=ticket.id,
                               entry_ids=[hit.entry_id for hit in hits], top_score=top_score)
    links: dict[str, str | None] = {mail_actions.SELF_SERVED: None, mail_actions.WAIT: None}
    if hits and config.site_url and config.help_centre:
        for action in links:
            token = mail_actions.issue(session=session, ticket_id=ticket.id, action=action)
            links[action] = _site(config, f"/aide/courriel/{token}")
    receipt = receipt_text(config=config, ticket_id=ticket.id, hits=hits,
                        shown=passages.shown_texts(hits),
                        self_served=links[mail_actions.SELF_SERVED],
                        wait=links[mail_actions.WAIT])
    if accepted or refused:
        kept = (["Fichiers reçus avec votre question : "
                 + ", ".join(item.filename for item in accepted) + "."] if accepted else [])
        said = [attachments.refusal_text(refused)] if refused else []
        receipt = receipt.replace(SIGN_OFF, "\n\n" + "\n".join(kept + said) + SIGN_OFF)
    if closed is not None:
        receipt = CLOSED_TEXT.format(number=closed, new=ticket.id).removesuffix(SIGN_OFF) \
            + "\n\n" + receipt.removeprefix("Bonjour,\n\n")
    outbox.enqueue_email(session=session, kind=OutboxKind.RECEIPT, to=read.sender,
                         subject=reaching.email_subject(ticket), text=receipt,
                         created_by="mail",
                         ticket_id=ticket.id, asker_id=asker_id, in_reply_to=read.message_id)
    return "question", ticket.id


def _decide(session: Session, inbox_id: int, read: reading.ReadMail, *,
            config: IntakeConfig, hits: list[SearchHit], top_score: float | None) -> Decision:
    # (A copy of a mail already stored under another UID never comes here: the inbox keeps
    # it as a duplicate, already processed.)
    if read.automatic is not None:
        logger.info("mail %s not answered: %s", inbox_id, read.automatic)
        return "automatic", None
    warning = read.authentication_failed
    if warning and config.auth_failure == "refuse":
        logger.warning("mail %s refused: %s", inbox_id, warning)
        return "authentication_failed", None
    sender = mail_senders.identify_sender(session=session, address=read.sender)
    if sender.kind is SenderKind.UNKNOWN:
        if read.sender and not warning and mail_senders.unknown_reply_due(
                session=session, address=read.sender):
            _reply(session, to=read.sender, subject=_subject(read), text=UNKNOWN_TEXT,
                   kind=OutboxKind.REGISTRATION, read=read)
        _forget(session, inbox_id)
        return "unknown_sender", None
    if sender.kind is SenderKind.BLOCKED:
        return "blocked_sender", None
    assert sender.asker_id is not None
    if sender.kind is SenderKind.PENDING:
        if sender.created:
            _reply(session, to=read.sender, subject=_subject(read), text=PENDING_TEXT,
                   kind=OutboxKind.REGISTRATION, read=read, asker_id=sender.asker_id)
        return mail_senders.HELD, None
    accepted, refused = _files(read, config)
    if not read.text and not read.subject and not accepted:
        text = EMPTY_TEXT
        if refused:
            text = text.replace(SIGN_OFF, "\n\n" + attachments.refusal_text(refused) + SIGN_OFF)
        _reply(session, to=read.sender, subject=_subject(read), text=text,
               kind=OutboxKind.RECEIPT, read=read, asker_id=sender.asker_id)
        return "empty", None
    thread = mail_questions.find_thread(session=session, references=read.references,
                                        ticket_number=read.ticket_number,
                                        asker_id=sender.asker_id)
    closed = None
    # A file sent without a word still says something: which files it brings.
    said = read.text or ("Documents joints : " + ", ".join(item.filename for item in accepted)
                         if accepted else "")
    if thread is not None and said:
        done = mail_questions.follow_up(session=session, ticket=thread,
                                        asker_id=sender.asker_id, text=said)
        if done is not None:
            _keep_files(session, thread, accepted, f"asker:{sender.asker_id}")
            if refused:  # the rest is kept: say which files were not
                _reply(session, to=read.sender, subject=reaching.email_subject(thread),
                       text="Bonjour,\n\nVotre message est ajouté à la question n° "
                            f"{thread.id}.\n\n{attachments.refusal_text(refused)}" + SIGN_OFF,
                       kind=OutboxKind.RECEIPT, read=read, ticket_id=thread.id,
                       asker_id=sender.asker_id)
            return "follow_up", thread.id
        closed = thread.id
    return _new_question(session, read, text=said, asker_id=sender.asker_id, config=config,
                         hits=hits, top_score=top_score, warning=warning, closed=closed,
                         accepted=accepted, refused=refused)


class _AlreadyProcessed(Exception):
    """Another process marked the mail first: what this one wrote is rolled back."""


def process(knowledge: Knowledge, config: IntakeConfig, *,
            item: mail_inbox.PendingMail) -> str | None:
    """Process one stored mail in one unit of work; its outcome (None: done elsewhere)."""
    read = reading.read(item.raw, own_domain=config.own_domain, own_address=config.own_address,
                        trusted_servers=config.trusted_servers)
    wanted = read.automatic is None and not read.references and read.ticket_number is None
    hits, top_score = _search(knowledge, config, mail_questions.question_text(
        read.subject, read.text)) if wanted else ([], None)
    try:
        with knowledge.session() as session:
            outcome, ticket_id = _decide(session, item.id, read, config=config, hits=hits,
                                         top_score=top_score)
            if not mail_inbox.mark_processed(session=session, inbox_id=item.id,
                                             outcome=outcome, ticket_id=ticket_id):
                raise _AlreadyProcessed()
            return outcome
    except _AlreadyProcessed:
        return None
    except DomainError as error:  # refused by the desk's rules: said in the log, not retried
        logger.warning("mail %s not taken: %s", item.id, error)
        with knowledge.session() as session:
            mail_inbox.mark_processed(session=session, inbox_id=item.id, outcome="refused")
        return "refused"


def process_pending(knowledge: Knowledge, config: IntakeConfig, *, limit: int = 50) -> int:
    """Process the stored mail not processed yet, oldest first; return how many were.

    Each mail's attempt is committed before it is processed: one that kills the process each
    time is given up after a few attempts instead of blocking the others.
    """
    done = after = 0
    while done < limit:
        with knowledge.session() as session:
            taken = mail_inbox.next_pending(session=session, limit=1, after_id=after)
        if not taken:
            break
        item = taken[0]
        after = item.id
        try:
            if process(knowledge, config, item=item) is not None:
                done += 1
        except Exception as error:  # one bad mail must not stop the others
            logger.exception("mail %s could not be processed", item.id)
            with knowledge.session() as session:
                mail_inbox.record_failure(session=session, inbox_id=item.id,
                                          error=f"{type(error).__name__}: {error}")
    return done
