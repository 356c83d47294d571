"""Wiring of the email channel: SMTP settings, the sign-in sender, the outbox's mail worker."""

from __future__ import annotations

from email.utils import parseaddr

from admin.config import SendMail
from knowledge.runtime import Knowledge
from mail.delivery import MailDelivery, MailWorker
from mail.processing import IntakeConfig
from mail.smtp import SmtpSettings, send_plain
from svp.settings import Settings


def mail_settings(current: Settings) -> SmtpSettings | None:
    """The SMTP server of the settings, or None when none is configured."""
    if not current.mail_smtp_host:
        return None
    password = current.mail_smtp_password
    return SmtpSettings(host=current.mail_smtp_host, port=current.mail_smtp_port,
                        user=current.mail_smtp_user,
                        password=password.get_secret_value() if password else None,
                        security=current.mail_smtp_security, sender=current.mail_from)


def mail_sender(smtp: SmtpSettings | None) -> SendMail | None:
    """Send one automatic message at once through the configured server (None: none is)."""
    if smtp is None:
        return None
    return lambda to, subject, body: send_plain(smtp, to=to, subject=subject, body=body)


def mail_delivery(current: Settings) -> MailDelivery | None:
    """What the mail worker needs, or None without an SMTP server."""
    smtp = mail_settings(current)
    if smtp is None:
        return None
    return MailDelivery(smtp=smtp, site_url=current.admin_base_url,
                        help_centre=current.help_centre,
                        interval_seconds=current.mail_interval_seconds)


def mail_worker(knowledge: Knowledge, current: Settings) -> MailWorker | None:
    """The worker sending the outbox's email rows, or None without an SMTP server."""
    delivery = mail_delivery(current)
    return MailWorker(knowledge, delivery) if delivery is not None else None


def intake_config(current: Settings) -> IntakeConfig:
    """How questions received by email are answered, from the settings."""
    address = parseaddr(current.mail_from)[1].lower() or "svp@localhost"
    trusted = tuple(server.strip().lower() for server in current.mail_trusted_authserv.split(",")
                    if server.strip())
    return IntakeConfig(own_address=address, own_domain=address.rsplit("@", 1)[-1],
                        site_url=current.admin_base_url, help_centre=current.help_centre,
                        auth_failure=current.mail_auth_failure, trusted_servers=trusted,
                        suggestions=max(0, min(current.suggestions_shown, 3)),
                        per_minute=current.rate_limit_per_minute,
                        per_day=current.rate_limit_per_day)
