"""The email channel as one service: sending the outbox's emails, reading the mailbox, and
processing what was read. Each runs in its own thread; they meet in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

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
                 interval_seconds: float = 10.0,
                 on_processed: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._knowledge = knowledge
        self._config = config
        self._interval = interval_seconds
        # Replies were queued: the sender sends them now instead of at its next pass.
        self._on_processed = on_processed

    def run(self) -> None:
        """Process until stopped; an error is logged and the loop goes on."""
        while not self._stop.is_set():
            done = 0
            try:
                done = process_pending(self._knowledge, self._config)
            except Exception:  # the database away for a moment must not end the channel
                logger.exception("mail processing pass failed")
            if done and self._on_processed is not None:
                self._on_processed()
            if done < 50:  # else more wait: no pause
                self.pause(self._interval)




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
