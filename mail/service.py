"""The email channel as one service: sending the outbox's emails, reading the mailbox, and
processing what was read. Each runs in its own thread; they meet in the database."""

from __future__ import annotations

import logging
import threading

from knowledge.runtime import Knowledge
from mail.delivery import MailWorker
from mail.imap import MailReader
from mail.loops import BackgroundLoop
from mail.processing import IntakeConfig, process_pending

logger = logging.getLogger(__name__)


class MailProcessor(BackgroundLoop):
    """Processes the stored mail: at once when the reader stored some, else every few seconds
    (which also takes back mail released after an approval, or left by a crash)."""

    thread_name = "svp-mail-in"

    def __init__(self, knowledge: Knowledge, config: IntakeConfig,
                 interval_seconds: float = 10.0) -> None:
        super().__init__()
        self._knowledge = knowledge
        self._config = config
        self._interval = interval_seconds
        self._wake = threading.Event()

    def wake(self) -> None:
        """New mail was stored: process it now (the reader's hook)."""
        self._wake.set()

    def run(self) -> None:
        """Process until stopped; an error is logged and the loop goes on."""
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if process_pending(self._knowledge, self._config) >= 50:
                    continue  # more wait: no pause
            except Exception:  # the database away for a moment must not end the channel
                logger.exception("mail processing pass failed")
            self._wake.wait(self._interval)

    def request_stop(self) -> None:
        """Stop after the mail in progress (the wait ends at once)."""
        super().request_stop()
        self._wake.set()


class MailService:
    """Sending and, when a mailbox is configured, reading and processing, started together."""

    def __init__(self, *, sender: MailWorker | None, reader: MailReader | None,
                 processor: MailProcessor | None) -> None:
        self.sender = sender
        self.reader = reader
        self.processor = processor

    def start(self) -> None:
        """Start each part in its thread."""
        for part in (self.processor, self.reader, self.sender):
            if part is not None:
                part.start()

    def stop(self) -> None:
        """Stop the reader first (nothing new comes in), then the processor, then sending."""
        for part in (self.reader, self.processor, self.sender):
            if part is not None:
                part.stop()
