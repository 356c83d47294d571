"""Mail sent by the help centre (sign-in links) through the configured SMTP server."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from admin.config import MailSettings

logger = logging.getLogger(__name__)


def send(settings: MailSettings, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises OSError/SMTPException when the server refuses."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1].strip("> "))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    context = ssl.create_default_context()
    if settings.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                timeout=settings.timeout_seconds,
                                                context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    with client:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.user:
            client.login(settings.user, settings.password or "")
        client.send_message(message)


def sign_in_text(*, url: str, minutes: int) -> str:
    """The French body of a sign-in link message."""
    return (
        "Bonjour,\n\n"
        "Pour vous connecter au centre d'aide du SVP, ouvrez ce lien :\n\n"
        f"{url}\n\n"
        f"Il ne sert qu'une fois et n'est valable que {minutes} minutes. Si vous n'avez rien "
        "demandé, ignorez ce message : personne ne peut se connecter sans ce lien.\n\n"
        "— Le SVP\n"
    )
