"""The SMTP transport: one connection per batch, STARTTLS or implicit TLS, login if set."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server, and who the mail is from."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    # "none", "starttls" (upgrade on the submission port) or "tls" (implicit, port 465).
    security: str = "starttls"
    sender: str = "SVP <svp@localhost>"
    timeout_seconds: float = 10.0

    @property
    def sender_domain(self) -> str:
        """The domain of the sender's address: our Message-IDs end with it."""
        address = parseaddr(self.sender)[1]
        return address.rsplit("@", 1)[-1] if "@" in address else "localhost"

    def __repr__(self) -> str:  # never print the password in logs or tracebacks
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, "
                f"security={self.security!r}, sender={self.sender!r})")


@contextmanager
def connect(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An open, authenticated SMTP connection; raises OSError or SMTPException when refused."""
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
        yield client


def send_plain(settings: SmtpSettings, *, to: str, subject: str, body: str) -> None:
    """Send one automatic plain-text message at once (sign-in links, which cannot wait)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender_domain)
    # Nobody should answer it, and no vacation reply should come back (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    with connect(settings) as client:
        client.send_message(message)
