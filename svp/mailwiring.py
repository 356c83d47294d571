"""Wiring of the email channel: SMTP settings, the sign-in sender, the outbox's mail worker,
and the IMAP reader of the questions received by email."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr

from admin.config import SendMail
from knowledge.runtime import Knowledge
from mail.delivery import MailDelivery, MailWorker
from mail.imap import MEGABYTE, ImapSettings, MailReader
from mail.processing import IntakeConfig
from mail.service import MailProcessor, MailService
from mail.smtp import SmtpSettings, send_plain
from svp.runtime import attachment_limits
from svp.settings import Settings, SettingsError


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
                        per_day=current.rate_limit_per_day,
                        limits=attachment_limits(current))
def imap_settings(current: Settings) -> ImapSettings | None:
    """The mailbox the questions are read from, or None when none is configured."""
    if not current.mail_imap_host:
        return None
    password = current.mail_imap_password
    if not current.mail_imap_user or password is None:
        raise SettingsError("réglages SVP_MAIL_IMAP_USER et SVP_MAIL_IMAP_PASSWORD manquants "
                            "alors que SVP_MAIL_IMAP_HOST est défini ; renseignez-les dans "
                            "l'environnement ou le fichier .env.")
    processed = current.mail_imap_processed
    move_to = processed.split(":", 1)[1].strip() if processed.startswith("move:") else None
    if move_to is not None and move_to == current.mail_imap_mailbox:
        raise SettingsError(f"réglage SVP_MAIL_IMAP_PROCESSED invalide (« {processed} ») : le "
                            "dossier des messages traités doit différer de SVP_MAIL_IMAP_MAILBOX "
                            "; corrigez l'environnement ou le fichier .env.")
    cafile = current.mail_imap_cafile
    if cafile is not None and not cafile.is_file():
        raise SettingsError(f"réglage SVP_MAIL_IMAP_CAFILE invalide (« {cafile} ») : fichier "
                            "introuvable ; donnez le chemin du certificat de l'autorité, ou "
                            "retirez le réglage pour les autorités du système.")
    return ImapSettings(host=current.mail_imap_host, port=current.mail_imap_port,
                        user=current.mail_imap_user, password=password.get_secret_value(),
                        security=current.mail_imap_security, mailbox=current.mail_imap_mailbox,
                        move_to=move_to, cafile=str(cafile) if cafile is not None else None,
                        poll_seconds=current.mail_imap_poll_seconds,
                        max_message_bytes=current.mail_imap_max_megabytes * MEGABYTE)


def mail_reader(knowledge: Knowledge, current: Settings,
                on_stored: Callable[[], None] | None = None) -> MailReader | None:
    """The reader storing the mailbox's messages in the mail inbox, or None without a mailbox.

    `on_stored` is called after each batch of new messages is committed (the processor).
    """
    settings = imap_settings(current)
    return MailReader(knowledge, settings, on_stored) if settings is not None else None


def mail_service(knowledge: Knowledge, current: Settings) -> MailService | None:
    """Everything the email channel runs in a process, or None when nothing is configured."""
    sender = mail_worker(knowledge, current)
    processor = None
    reader = None
    if current.mail_imap_host:
        processor = MailProcessor(knowledge, intake_config(current),
                                  on_processed=sender.wake if sender is not None else None)
        reader = mail_reader(knowledge, current, on_stored=processor.wake)
    if sender is None and reader is None:
        return None
    return MailService(sender=sender, reader=reader, processor=processor)
