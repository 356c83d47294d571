"""IDLE (RFC 2177) over imaplib, which has no such command in Python 3.11."""

from __future__ import annotations

import imaplib
import io
import re
import select
import ssl
import threading
import time


def idle(client: imaplib.IMAP4, seconds: float, *, stop: threading.Event | None = None) -> bool:
    """Wait with IDLE until the server announces a message, `seconds` pass, or `stop` is set.

    True when a message was announced (EXISTS or RECENT). imaplib has no IDLE: the command is
    sent and its answers read by hand, waiting on the socket without a read timeout (a timed
    out read leaves imaplib's file unusable), then DONE ends it.
    """
    tag = f"SVPIDLE{time.monotonic_ns() % 1_000_000}".encode()
    client.send(tag + b" IDLE\r\n")
    line = client.readline()
    if not line.startswith(b"+"):
        raise imaplib.IMAP4.error(f"IDLE refused: {line.decode('utf-8', 'replace').strip()}")
    announced = False
    deadline = time.monotonic() + seconds
    while not announced and not (stop is not None and stop.is_set()):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if not _readable(client, min(remaining, 0.5)):  # short waits: `stop` is heard
            continue
        announced = _announces(_line(client))
    client.send(b"DONE\r\n")
    while True:
        line = _line(client)
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1:].upper().startswith(b"OK"):
                said = line.decode("utf-8", "replace").strip()
                raise imaplib.IMAP4.error(f"IDLE ended badly: {said}")
            return announced
        announced = _announces(line) or announced


def _line(client: imaplib.IMAP4) -> bytes:
    line = client.readline()
    if not line:
        raise imaplib.IMAP4.abort("the server closed the connection during IDLE")
    if line.startswith(b"* BYE"):
        raise imaplib.IMAP4.abort(f"the server said {line.decode('utf-8', 'replace').strip()}")
    return line


def _announces(line: bytes) -> bool:
    return re.match(rb"\* \d+ (EXISTS|RECENT)\b", line.upper()) is not None


def _readable(client: imaplib.IMAP4, seconds: float) -> bool:
    """Whether a line can be read: already buffered (imaplib's file, TLS) or on the socket."""
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    previous = sock.gettimeout()
    sock.setblocking(False)
    try:
        # The buffered file answers from its buffer, else tries one read that cannot block.
        if isinstance(client.file, io.BufferedReader) and client.file.peek(1):
            return True
    except (BlockingIOError, ssl.SSLWantReadError):
        pass
    finally:
        sock.settimeout(previous)
    ready, _, _ = select.select([sock], [], [], seconds)
    return bool(ready)
