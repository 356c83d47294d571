"""The mail worker: sends the outbox's email rows through SMTP, with the outbox's guarantees.

A row is claimed (lease, attempts + 1, Message-ID drawn once) and committed before anything is
sent, marked sent right after the server accepted it. A crash between the two sends it again
once the lease has expired, with the same Message-ID: at most one duplicate, never a loss.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid

from knowledge.desk import attachments, heartbeat, outbox
from knowledge.desk.outbox import OutboxItem
from knowledge.runtime import Knowledge
from knowledge.store.models import OutboxChannel
from mail import compose
from mail.loops import BackgroundLoop
from mail.smtp import SmtpSettings, connect

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailDelivery:
    """What the worker needs: the SMTP server, the site's address, its pace."""

    smtp: SmtpSettings
    site_url: str | None = None  # SVP_ADMIN_BASE_URL: the links of the messages
    help_centre: bool = True
    interval_seconds: float = 5.0
    batch: int = 20


@dataclass(frozen=True)
class DrainReport:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def _next(knowledge: Knowledge, *, domain: str, now: datetime | None) -> OutboxItem | None:
    """Claim the next due email row (committed before anything is sent), or None."""
    with knowledge.session() as session:
        heartbeat.beat(session=session, name=heartbeat.MAIL_DELIVERY, now=now)
        rows = outbox.claim_due(session=session, now=now, limit=1, channel=OutboxChannel.EMAIL)
        if not rows:
            return None
        row = rows[0]
        if not row.mail_message_id:
            row.mail_message_id = make_msgid(domain=domain)
        return OutboxItem.of(row)


def _files(knowledge: Knowledge, item: OutboxItem) -> list[compose.MailFile]:
    """The files of a row, read when it is sent (they may have been erased since)."""
    if not item.attachment_ids:
        return []
    with knowledge.session() as session:
        return [compose.MailFile(filename=row.filename, content_type=row.content_type,
                                 data=row.data)
                for row in attachments.by_ids(session=session,
                                              attachment_ids=item.attachment_ids)]


def _settle(knowledge: Knowledge, item: OutboxItem, *, error: str | None = None,
            permanent: bool = False, now: datetime | None = None) -> None:
    with knowledge.session() as session:
        if error is None:
            outbox.mark_sent(session=session, outbox_id=item.id, now=now)
        elif permanent:
            outbox.mark_failed(session=session, outbox_id=item.id, reason=error)
        else:
            outbox.schedule_retry(session=session, outbox_id=item.id, error=error, now=now)


def _refusal(error: smtplib.SMTPException) -> tuple[str, bool]:
    """A French reason for the advisers, and whether retrying cannot help (a 5xx answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(error.recipients.values()))
        return f"adresse refusée par le serveur de courriel ({code} {answer!r})", code >= 500
    if isinstance(error, smtplib.SMTPResponseException):
        return (f"message refusé par le serveur de courriel ({error.smtp_code} "
                f"{error.smtp_error!r})", error.smtp_code >= 500)
    return f"serveur de courriel : {type(error).__name__} {error}", False


def drain(knowledge: Knowledge, delivery: MailDelivery, *,
          now: datetime | None = None) -> DrainReport:
    """Send up to a batch of due email rows over one SMTP connection; say what became of them.

    Rows are claimed one at a time: after a crash, only the message in flight waits for its
    lease to expire; the others are still due and go with the next pass.
    """
    smtp = delivery.smtp
    item = _next(knowledge, domain=smtp.sender_domain, now=now)
    if item is None:
        return DrainReport()
    sent = retried = failed = 0
    try:
        with connect(smtp) as client:
            while item is not None:
                try:
                    message = compose.build(item, sender=smtp.sender, domain=smtp.sender_domain,
                                            site_url=delivery.site_url,
                                            help_centre=delivery.help_centre,
                                            files=_files(knowledge, item))
                    client.send_message(message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as error:
                    reason, permanent = _refusal(error)
                    _settle(knowledge, item, error=reason, permanent=permanent, now=now)
                    failed += permanent
                    retried += not permanent
                except (ValueError, UnicodeError) as error:  # the row itself cannot be a mail
                    _settle(knowledge, item, error=f"message impossible à composer : {error}",
                            permanent=True, now=now)
                    failed += 1
                else:
                    _settle(knowledge, item, now=now)
                    sent += 1
                item = None
                if sent + retried + failed < delivery.batch:
                    item = _next(knowledge, domain=smtp.sender_domain, now=now)
    except (OSError, smtplib.SMTPException) as error:
        # The connection failed or broke: the message in hand waits; nothing was lost.
        if item is not None:
            _settle(knowledge, item, now=now,
                    error=f"serveur de courriel injoignable : {type(error).__name__} {error}")
            retried += 1
        logger.warning("mail delivery interrupted: %s", error)
    report = DrainReport(sent=sent, retried=retried, failed=failed)
    logger.info("mail delivery: %s sent, %s to retry, %s failed", sent, retried, failed)
    return report


class MailWorker(BackgroundLoop):
    """Drains the email outbox every few seconds in a thread, until stopped."""

    thread_name = "svp-mail-out"

    def __init__(self, knowledge: Knowledge, delivery: MailDelivery) -> None:
        super().__init__()
        self._knowledge = knowledge
        self._delivery = delivery

    def run(self) -> None:
        """Drain until stopped (the caller's thread); an error is logged, the loop goes on."""
        while not self._stop.is_set():
            try:
                report = drain(self._knowledge, self._delivery)
            except Exception:  # a database hiccup must not stop the channel for good
                logger.exception("mail delivery pass failed")
                report = DrainReport()
            if report.sent + report.retried + report.failed < self._delivery.batch:
                self.pause(self._delivery.interval_seconds)
