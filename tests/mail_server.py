"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), keeping every message it gets."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the server received, in order."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: threading.Condition = field(init=False)
    # Misbehaviours asked by a test: addresses refused for good (550), and a temporary
    # refusal (451) of every n-th message offered (0: never).
    refused_addresses: set[str] = field(default_factory=set)
    defer_every: int = 0
    offered: int = 0
    deferred: int = 0

    def __post_init__(self) -> None:
        self.received = threading.Condition(self.lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """aiosmtpd's hook: refuse the addresses the test named."""
        if address in self.refused_addresses:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message (or defer it, when the test asked)."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.received:
            self.offered += 1
            if self.defer_every and self.offered % self.defer_every == 0:
                self.deferred += 1
                return "451 4.3.0 Try again later"
            self.messages.append(message)
            self.received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until `count` messages arrived; return them all."""
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to one address."""
        with self.lock:
            return [message for message in self.messages if message["To"] == address]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(box: Mailbox | None = None) -> Iterator[tuple[int, Mailbox]]:
    """Run an SMTP server on a free port until the block ends: (port, mailbox)."""
    box = box if box is not None else Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def body_of(message: EmailMessage) -> str:
    """The plain-text body of a message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
