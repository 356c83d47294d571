"""An outbox row as an email: text and HTML alternatives, threaded per ticket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from knowledge.desk.formatting import to_mail_html, to_plain_text
from knowledge.desk.outbox import OutboxItem
from knowledge.desk.tables import readable_tables
from knowledge.store.models import OutboxKind

_STYLE = ("font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; "
          "color: #1e1e1e; max-width: 40em")


def ticket_thread_id(ticket_id: int, domain: str) -> str:
    """The Message-ID every email about a ticket refers to, so clients show one thread."""
    return f"<svp-question-{ticket_id}@{domain}>"


def question_url(help_url: str, ticket_id: int) -> str:
    """The help centre's page of a question (the reader signs in if needed)."""
    return f"{help_url.rstrip('/')}/aide/questions/{ticket_id}"


@dataclass(frozen=True)
class MailFile:
    """A file sent with an email row (`outbox.attachment_ids`, read from the database)."""

    filename: str
    content_type: str
    data: bytes


def build(item: OutboxItem, *, sender: str, domain: str, site_url: str | None,
          help_centre: bool = True, files: Sequence[MailFile] = ()) -> EmailMessage:
    """The email of a claimed email row, with its files; its Message-ID is the row's."""
    if not item.email_to or not item.mail_message_id:
        raise ValueError(f"outbox {item.id} is not a claimed email row")
    body = readable_tables(item.text)  # mail clients show tables no better than Telegram
    text = to_plain_text(body) if item.formatted else body
    html = to_mail_html(body, formatted=item.formatted)
    link = words = None
    if site_url and item.ticket_id is not None:
        if item.user_id is not None:  # an adviser's alert: the ticket's page in the desk
            link = f"{site_url.rstrip('/')}/tickets/{item.ticket_id}"
            words = "Ouvrir la question dans l'administration du SVP"
        elif help_centre and item.kind != OutboxKind.RECEIPT.value:
            # (a receipt names its own ways to go on)
            link = question_url(site_url, item.ticket_id)
            words = "Lire votre question et y répondre dans le centre d'aide"
    if link and words:
        text += f"\n\n--\n{words} :\n{link}\n"
        html += f'\n<hr>\n<p><a href="{link}">{words}</a></p>'
    message = EmailMessage()
    message["From"] = sender
    message["To"] = item.email_to
    message["Subject"] = item.subject or "Votre question au SVP"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = item.mail_message_id
    if item.ticket_id is not None:
        # Threaded on the asker's own message when they wrote by email, else on the question.
        root = ticket_thread_id(item.ticket_id, domain)
        message["In-Reply-To"] = item.in_reply_to or root
        message["References"] = " ".join(
            ref for ref in (root, item.in_reply_to) if ref)
    elif item.in_reply_to:
        message["In-Reply-To"] = item.in_reply_to
        message["References"] = item.in_reply_to
    # Vacation replies to these messages would only be noise in the SVP's mailbox.
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(text)
    message.add_alternative(
        f'<!DOCTYPE html>\n<html lang="fr"><body><div style="{_STYLE}">\n{html}\n'
        "</div></body></html>\n", subtype="html")
    for file in files:
        # The type sniffed at upload; the reader's client decides how to open it.
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(file.data, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=file.filename)
    return message
