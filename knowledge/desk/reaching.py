"""How an adviser's message reaches the asker of a ticket: Telegram, email, or the help centre.

A Telegram question is answered in Telegram. A question asked in the help centre is read
there (« Mes questions ») and notified by email, or in Telegram when its asker chose so and has
a chat. The decision is made here once, for every kind of message an adviser sends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import outbox
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.models import Asker, Outbox, OutboxKind, Ticket

WEB_CHANNEL = "web"
EMAIL_CHANNEL = "email"


class WebNotify(enum.StrEnum):
    """How the answers to a member's web questions reach them."""

    EMAIL = "email"
    TELEGRAM = "telegram"


# The subject of the email for each kind of message; the ticket number goes in front.
_SUBJECTS = {
    OutboxKind.ANSWER: "Réponse à votre question",
    OutboxKind.CLARIFICATION: "Le SVP vous demande une précision",
    OutboxKind.REJECTION: "Votre question n'a pas été retenue",
    OutboxKind.FOLLOW_UP: "Complément à la réponse à votre question",
    OutboxKind.CORRECTION: "Correction de la réponse à votre question",
}


@dataclass(frozen=True)
class Route:
    """Where a message goes: a Telegram chat, an email address, or only the help centre."""

    chat_id: int | None = None
    email: str | None = None

    @property
    def web_only(self) -> bool:
        """Nothing is sent: the asker reads the message in the help centre."""
        return self.chat_id is None and self.email is None


def on_the_web(ticket: Ticket) -> bool:
    """Whether a ticket was asked in the help centre (its asker follows it there)."""
    return ticket.channel == WEB_CHANNEL


def chat_of(asker: Asker | None) -> int | None:
    """The Telegram chat of an asker, if they have one."""
    if asker is None:
        return None
    return asker.chat_id or asker.telegram_user_id


def web_notify(asker: Asker) -> WebNotify:
    """The asker's choice for web answers; email unless they chose Telegram and have a chat."""
    if asker.web_notify == WebNotify.TELEGRAM.value and chat_of(asker) is not None:
        return WebNotify.TELEGRAM
    if not asker.email and chat_of(asker) is not None:
        return WebNotify.TELEGRAM  # signed in from the bot, no address: Telegram is all there is
    return WebNotify.EMAIL


def route(ticket: Ticket) -> Route | None:
    """Where the asker of a ticket is reached; None when they cannot be reached at all."""
    asker = ticket.asker
    if asker is None:
        return None
    chat = chat_of(asker)
    if ticket.channel == EMAIL_CHANNEL:  # asked by email: answered by email, in its thread
        return Route(email=asker.email) if asker.email else None
    if not on_the_web(ticket):
        return Route(chat_id=chat) if chat is not None else None
    if web_notify(asker) is WebNotify.TELEGRAM and chat is not None:
        return Route(chat_id=chat)
    return Route(email=asker.email or None)


def send_to_asker(*, session: Session, ticket: Ticket, kind: OutboxKind, text: str,
                  created_by: str, formatted: bool = False) -> Outbox | None:
    """Queue a message to the ticket's asker where they are reached (None: read on the web)."""
    where = route(ticket)
    if where is None or where.web_only:
        return None
    asker_id = ticket.asker_id
    if where.chat_id is not None:
        return outbox.enqueue(session=session, kind=kind, chat_id=where.chat_id, text=text,
                              created_by=created_by, formatted=formatted, asker_id=asker_id,
                              ticket_id=ticket.id)
    assert where.email is not None
    subject = f"[SVP n° {ticket.id}] {_SUBJECTS.get(kind, 'Votre question au SVP')}"
    if ticket.channel == EMAIL_CHANNEL:  # the asker's own subject, as a reply to their mail
        subject = email_subject(ticket)
    return outbox.enqueue_email(session=session, kind=kind, to=where.email, subject=subject,
                                text=text, created_by=created_by, formatted=formatted,
                                asker_id=asker_id, ticket_id=ticket.id,
                                in_reply_to=ticket.email_message_id)


def email_subject(ticket: Ticket) -> str:
    """The subject of every email about a question asked by email: « Re: [SVP n° 123] … »."""
    own = (ticket.email_subject or "").strip() or "Votre question au SVP"
    return f"Re: [SVP n° {ticket.id}] {own}"


def set_web_notify(*, session: Session, asker_id: int, choice: str) -> Asker:
    """Record how the asker wants the answers to their web questions: email or Telegram."""
    try:
        wanted = WebNotify(choice)
    except ValueError:
        raise InvalidInput("Choisissez « par courriel » ou « sur Telegram ».") from None
    asker = session.get(Asker, asker_id)
    if asker is None:
        raise NotFound("asker", asker_id)
    if wanted is WebNotify.TELEGRAM and chat_of(asker) is None:
        raise InvalidInput("Vous n'utilisez pas le bot Telegram du SVP : les réponses vous sont "
                           "annoncées par courriel.")
    if wanted is WebNotify.EMAIL and not asker.email:
        raise InvalidInput("Aucune adresse de courriel n'est connue pour vous : les réponses vous "
                           "sont annoncées sur Telegram.")
    if asker.web_notify != wanted.value:
        asker.web_notify = wanted.value
        audit.record(session=session, actor=f"asker:{asker.id}", action="asker.web_notify",
                     object_type="asker", object_id=asker.id, details={"choice": wanted.value})
    return asker
