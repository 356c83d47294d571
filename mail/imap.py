"""The IMAP reader: stores each message of a mailbox in the durable inbox, then tells the server.

The order is the guarantee. For each batch of new messages the reader
1. fetches them with BODY.PEEK[] (fetching never marks a message seen),
2. records them in `knowledge.desk.mail_inbox` and **commits**,
3. only then flags them on the server (\\Seen and the keyword $SvpStored) or moves them to
   the processed folder,
4. and notes `flagged_at` in the database.
A crash between 2 and 3 leaves the message unflagged on the server: the next pass finds it
again, sees its UID already stored (nothing is stored twice, it is not even fetched again)
and flags it then. A crash between 3 and 4 only leaves `flagged_at` empty. So nothing read
is lost and nothing is stored twice; processing (`mail/processing.py`) starts from the
stored row, hooked in through `on_stored`, and is idempotent there.

New messages are those without the keyword (flag mode) or still in the mailbox and not
deleted (move mode), minus the UIDs already stored under the mailbox's current UIDVALIDITY.
When UIDVALIDITY changes (the mailbox was rebuilt), every message is new again: each is
stored under the new validity, and one whose Message-ID is already stored is kept as a
duplicate, already processed (never handed over twice). A message bigger than the cap is
recorded "too_large" with its headers' Message-ID and sender but no body, and flagged: it is
never fetched again.

The reader waits with IDLE (`mail/idle.py`) when the server offers it, by polling otherwise;
it reconnects with a growing delay after an error, logging one line a try.
"""

from __future__ import annotations

import email.parser
import email.policy
import imaplib
import logging
import re
import ssl
from base64 import b64encode
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parseaddr
from itertools import groupby

from knowledge.desk import mail_inbox
from knowledge.runtime import Knowledge
from knowledge.store.mail_models import MailInboxMessage
from mail.idle import idle
from mail.loops import BackgroundLoop

logger = logging.getLogger(__name__)

STORED_KEYWORD = "$SvpStored"
MEGABYTE = 1024 * 1024


class ImapError(Exception):
    """The server refused a command, or answered what the reader cannot use."""


@dataclass(frozen=True)
class ImapSettings:
    """How to reach the mailbox, and what to do with a message once it is stored."""

    host: str
    user: str
    password: str
    port: int = 993
    security: str = "tls"  # "tls" (implicit, port 993) or "starttls" (port 143)
    mailbox: str = "INBOX"
    move_to: str | None = None  # None: flag (\Seen + $SvpStored); else move to this folder
    cafile: str | None = None  # certificate authority to trust, instead of the system's
    timeout_seconds: float = 30.0
    idle_seconds: float = 300.0  # re-issued well before the 29 minutes of RFC 2177
    poll_seconds: float = 60.0  # when the server has no IDLE
    max_message_bytes: int = 40 * MEGABYTE
    batch: int = 20  # messages per FETCH (and fewer when they are big)
    retry_max_seconds: float = 300.0

    @property
    def inbox_key(self) -> str:
        """The mailbox column of the inbox rows: the account and the folder."""
        return f"{self.user}/{self.mailbox}"[:200]

    def __repr__(self) -> str:  # never print the password in logs or tracebacks
        return (f"ImapSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
                f"security={self.security!r}, mailbox={self.mailbox!r}, "
                f"move_to={self.move_to!r})")


@dataclass
class ImapMailbox:
    """An open, logged-in connection with its mailbox selected."""

    client: imaplib.IMAP4
    uidvalidity: int
    capabilities: frozenset[str]

    @property
    def can_idle(self) -> bool:
        """Whether the server offers IDLE."""
        return "IDLE" in self.capabilities


@dataclass(frozen=True)
class FetchReport:
    """What one pass did."""

    stored: int = 0  # new rows for the processor
    duplicates: int = 0
    too_large: int = 0
    flagged: int = 0  # told to the server (stored now or by a pass that crashed before)


def mailbox_name(name: str) -> str:
    """A folder name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    encoded: list[str] = []
    for printable, run in groupby(name, key=lambda char: 0x20 <= ord(char) <= 0x7E):
        text = "".join(run)
        if printable:
            encoded.append(text.replace("&", "&-"))
        else:
            data = b64encode(text.encode("utf-16-be")).decode().rstrip("=")
            encoded.append("&" + data.replace("/", ",") + "-")
    quoted = "".join(encoded).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


@contextmanager
def connect(settings: ImapSettings) -> Iterator[ImapMailbox]:
    """A logged-in connection with the mailbox selected (and the processed folder created)."""
    context = ssl.create_default_context(cafile=settings.cafile)
    if settings.security == "tls":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(settings.host, settings.port,
                                                  ssl_context=context,
                                                  timeout=settings.timeout_seconds)
    else:
        client = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        if settings.security != "tls":
            client.starttls(ssl_context=context)
        if "AUTH=PLAIN" in client.capabilities:  # UTF-8 credentials, which LOGIN cannot send
            credentials = f"\0{settings.user}\0{settings.password}".encode()
            client.authenticate("PLAIN", lambda _challenge: credentials)
        else:
            client.login(settings.user, settings.password)
        capabilities = _capabilities(client)
        status, data = client.select(mailbox_name(settings.mailbox))
        if status != "OK":
            raise ImapError(f"mailbox {settings.mailbox!r} cannot be selected: {_text(data)}")
        uidvalidity = _uidvalidity(client, settings.mailbox)
        if settings.move_to is not None:
            _ensure_folder(client, settings.move_to)
        box = ImapMailbox(client=client, uidvalidity=uidvalidity, capabilities=capabilities)
    except BaseException:
        client.shutdown()
        raise
    try:
        yield box
    except BaseException:
        client.shutdown()  # the session is in an unknown state: no LOGOUT to wait for
        raise
    with suppress(OSError, imaplib.IMAP4.error):  # broken at the end: nothing was pending
        client.logout()


def _capabilities(client: imaplib.IMAP4) -> frozenset[str]:
    # After login a server may offer more (MOVE, UIDPLUS) than imaplib saw at greeting.
    status, data = client.capability()
    if status != "OK" or not data or not isinstance(data[0], bytes):
        return frozenset(client.capabilities)
    return frozenset(data[0].decode("ascii", "replace").upper().split())


def _uidvalidity(client: imaplib.IMAP4, mailbox: str) -> int:
    _, data = client.response("UIDVALIDITY")
    if data and data[0] is not None:
        return int(data[0])
    status, data = client.status(mailbox_name(mailbox), "(UIDVALIDITY)")
    found = re.search(rb"UIDVALIDITY (\d+)", data[0] if data and isinstance(data[0], bytes)
                      else b"")
    if status != "OK" or found is None:
        raise ImapError(f"the server gave no UIDVALIDITY for {mailbox!r}")
    return int(found.group(1))


def _ensure_folder(client: imaplib.IMAP4, folder: str) -> None:
    status, data = client.list('""', mailbox_name(folder))
    if status == "OK" and any(item for item in data if item):
        return
    status, data = client.create(mailbox_name(folder))
    if status != "OK" and b"ALREADYEXISTS" not in b" ".join(
            item for item in data if isinstance(item, bytes)):
        raise ImapError(f"folder {folder!r} cannot be created: {_text(data)}")
    client.subscribe(mailbox_name(folder))  # so that people see it in their mail client
    logger.info("IMAP folder %r created for the processed messages", folder)


def _text(data: Sequence[object]) -> str:
    return " ".join(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
                    for item in data if item is not None)[:300]


def _check(status: str, data: Sequence[object], what: str) -> None:
    if status != "OK":
        raise ImapError(f"{what} refused: {_text(data)}")


def _search(box: ImapMailbox, settings: ImapSettings) -> list[int]:
    # Flag mode: the keyword says "stored". Move mode: whatever is still here (a message
    # copied and deleted by a server without MOVE waits for its expunge, it is not new).
    criteria = "UNDELETED" if settings.move_to is not None else f"UNKEYWORD {STORED_KEYWORD}"
    status, data = box.client.uid("SEARCH", criteria)
    _check(status, data, "SEARCH")
    return sorted(int(uid) for uid in (data[0] or b"").split()) if data else []


def _sizes(box: ImapMailbox, uids: Sequence[int]) -> dict[int, int]:
    status, data = box.client.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
    _check(status, data, "FETCH RFC822.SIZE")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = re.search(rb"UID (\d+)", line), re.search(rb"RFC822\.SIZE (\d+)", line)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _bodies(box: ImapMailbox, uids: Sequence[int], part: str) -> dict[int, bytes]:
    """The raw bytes of messages (BODY.PEEK[] or BODY.PEEK[HEADER]), by UID."""
    status, data = box.client.uid("FETCH", _uid_set(uids), f"(UID BODY.PEEK[{part}])")
    _check(status, data, "FETCH BODY")
    bodies: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        found = re.search(rb"UID (\d+)", item[0])
        if found is None and index + 1 < len(data):  # UID sent after the literal
            after = data[index + 1]
            found = re.search(rb"UID (\d+)", after if isinstance(after, bytes) else b"")
        if found is not None:
            bodies[int(found.group(1))] = bytes(item[1])
    return bodies


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _batches(uids: Sequence[int], sizes: dict[int, int],
             settings: ImapSettings) -> Iterator[list[int]]:
    """Groups of UIDs to fetch at once: a few messages, and not many megabytes together."""
    batch: list[int] = []
    weight = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= settings.batch or weight + size > settings.max_message_bytes):
            yield batch
            batch, weight = [], 0
        batch.append(uid)
        weight += size
    if batch:
        yield batch


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def stored_headers(raw: bytes) -> tuple[str | None, str | None]:
    """The Message-ID and the sender's address of a raw message; None where unreadable.

    Never raises: a malformed message is stored anyway, and the processor decides.
    """
    try:
        headers = _HEADERS.parsebytes(raw)
    except Exception:  # the parser is lenient, but a message must never stop the reader
        return None, None
    return _message_id(headers), _sender(headers)


def _message_id(headers: email.message.Message) -> str | None:
    try:
        value = headers.get("Message-ID")
    except Exception:
        return None
    if value is None:
        return None
    text = _clean(str(value))
    found = re.search(r"<[^<>\s]+>", text)
    identifier = found.group(0) if found else (text.split() or [""])[0]
    return identifier[:998] or None


def _sender(headers: email.message.Message) -> str | None:
    try:
        value = headers.get("From")
        addresses = getattr(value, "addresses", None)
        address = addresses[0].addr_spec if addresses else parseaddr(str(value or ""))[1]
    except Exception:  # a From the modern parser chokes on: the plain one is more lenient
        try:
            address = parseaddr(str(headers.get_all("From", [""])[0]))[1]
        except Exception:
            return None
    address = _clean(address).strip()
    return address[:254] if "@" in address else None


def _clean(text: str) -> str:
    # 8-bit headers come back with surrogate escapes; UTF-8 is what they nearly always are.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(char for char in text if char >= " " or char == "\t")


def fetch_new(box: ImapMailbox, knowledge: Knowledge, settings: ImapSettings,
              *, on_stored: Callable[[], None] | None = None) -> FetchReport:
    """Store the mailbox's new messages (committed), then flag or move them on the server."""
    box.client.untagged_responses.clear()  # what earlier commands left: only new EXISTS count
    uids = _search(box, settings)
    if not uids:
        return FetchReport()
    key = settings.inbox_key
    with knowledge.session() as session:
        known = mail_inbox.stored_uids(session=session, mailbox=key,
                                       uidvalidity=box.uidvalidity, uids=uids)
    stored = duplicates = too_large = flagged = 0
    if known:  # stored by a pass that stopped before telling the server
        logger.info("IMAP: %s message(s) stored earlier, flagged now", len(known))
        flagged += _tell_server(box, knowledge, settings, sorted(known))
    new = [uid for uid in uids if uid not in known]
    sizes = _sizes(box, new) if new else {}
    big = [uid for uid in new if sizes.get(uid, 0) > settings.max_message_bytes]
    if big:
        too_large += _record_too_large(box, knowledge, settings, big, sizes)
        flagged += _tell_server(box, knowledge, settings, big)
    for batch in _batches([uid for uid in new if uid not in big], sizes, settings):
        bodies = _bodies(box, batch, "")
        done: list[int] = []
        outcomes: list[str | None] = []
        with knowledge.session() as session:
            for uid in batch:
                raw = bodies.get(uid)
                if raw is None:  # expunged since the SEARCH
                    continue
                outcome = mail_inbox.TOO_LARGE if len(raw) > settings.max_message_bytes else None
                message_id, sender = stored_headers(raw)
                row_id = mail_inbox.record(
                    session=session, mailbox=key, uidvalidity=box.uidvalidity, uid=uid,
                    raw=b"" if outcome else raw, message_id=message_id, sender=sender,
                    size=len(raw), outcome=outcome)
                done.append(uid)
                if row_id is not None:
                    row = session.get(MailInboxMessage, row_id)
                    outcomes.append(row.outcome if row is not None else None)
        # Committed: only now may the server be told.
        stored += outcomes.count(None)
        duplicates += outcomes.count(mail_inbox.DUPLICATE)
        too_large += outcomes.count(mail_inbox.TOO_LARGE)
        if done:
            flagged += _tell_server(box, knowledge, settings, done)
        if outcomes.count(None) and on_stored is not None:
            _hand_over(on_stored)
    report = FetchReport(stored=stored, duplicates=duplicates, too_large=too_large,
                         flagged=flagged)
    logger.info("IMAP %s: %s stored, %s duplicate(s), %s too large, %s flagged", key, stored,
                duplicates, too_large, flagged)
    return report


def _record_too_large(box: ImapMailbox, knowledge: Knowledge, settings: ImapSettings,
                      uids: Sequence[int], sizes: dict[int, int]) -> int:
    headers = _bodies(box, uids, "HEADER")
    recorded = 0
    with knowledge.session() as session:
        for uid in uids:
            message_id, sender = stored_headers(headers.get(uid, b""))
            logger.warning("IMAP: message %s of %s (%s bytes, from %s) is over the %s bytes "
                           "cap: recorded too_large, not read", uid, settings.inbox_key,
                           sizes.get(uid), sender, settings.max_message_bytes)
            if mail_inbox.record(session=session, mailbox=settings.inbox_key,
                                 uidvalidity=box.uidvalidity, uid=uid, raw=b"",
                                 message_id=message_id, sender=sender,
                                 size=sizes.get(uid, 0), outcome=mail_inbox.TOO_LARGE):
                recorded += 1
    return recorded


def _tell_server(box: ImapMailbox, knowledge: Knowledge, settings: ImapSettings,
                 uids: Sequence[int]) -> int:
    """Flag or move committed messages, then note it in the database."""
    flag(box, settings, uids)
    with knowledge.session() as session:
        mail_inbox.mark_flagged(session=session, mailbox=settings.inbox_key,
                                uidvalidity=box.uidvalidity, uids=uids)
    return len(uids)


def flag(box: ImapMailbox, settings: ImapSettings, uids: Sequence[int]) -> None:
    """Tell the server these messages are stored: \\Seen and $SvpStored, and moved if asked."""
    client, uid_set = box.client, _uid_set(uids)
    status, data = client.uid("STORE", uid_set, "+FLAGS.SILENT",
                              f"(\\Seen {STORED_KEYWORD})")
    _check(status, data, "STORE")
    if settings.move_to is None:
        return
    folder = mailbox_name(settings.move_to)
    if "MOVE" in box.capabilities:
        status, data = client.uid("MOVE", uid_set, folder)
        _check(status, data, "MOVE")
        return
    status, data = client.uid("COPY", uid_set, folder)
    _check(status, data, "COPY")
    status, data = client.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
    _check(status, data, "STORE \\Deleted")
    if "UIDPLUS" in box.capabilities:  # expunge only ours, never someone else's \Deleted
        status, data = client.uid("EXPUNGE", uid_set)
        _check(status, data, "UID EXPUNGE")


def _hand_over(on_stored: Callable[[], None]) -> None:
    try:
        on_stored()
    except Exception as error:  # the processor's trouble must not stop the reading
        logger.error("mail processor hook failed: %s: %s", type(error).__name__, error)


def announced_since_search(box: ImapMailbox) -> bool:
    """Whether the server announced new messages during the last pass (then pass again)."""
    _, data = box.client.response("EXISTS")
    return bool(data) and data[0] is not None


class MailReader(BackgroundLoop):
    """Reads the mailbox in a thread until stopped: store, flag, then IDLE or sleep."""

    thread_name = "svp-imap"

    def __init__(self, knowledge: Knowledge, settings: ImapSettings,
                 on_stored: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._knowledge = knowledge
        self._settings = settings
        self._on_stored = on_stored

    def run(self) -> None:
        """Read until stopped (the caller's thread); a failure is logged and retried later."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                with connect(self._settings) as box:
                    while not self._stop.is_set():
                        report = fetch_new(box, self._knowledge, self._settings,
                                           on_stored=self._on_stored)
                        delay = 1.0  # a pass went through: the next failure starts over
                        # Mail announced during a pass that found some: pass again at once
                        # (a server repeating EXISTS for nothing cannot make this spin).
                        if announced_since_search(box) and report != FetchReport():
                            continue
                        if box.can_idle:
                            idle(box.client, self._settings.idle_seconds, stop=self._stop)
                        else:
                            self._stop.wait(self._settings.poll_seconds)
            except Exception as error:
                # One line a try, never a loop of tracebacks: an unreachable server, a
                # refused login, a database hiccup; nothing read is lost meanwhile.
                logger.error("IMAP reader (%s@%s:%s): %s: %s; retry in %.0f s",
                             self._settings.user, self._settings.host, self._settings.port,
                             type(error).__name__, _one_line(error), delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self._settings.retry_max_seconds)






def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:500]
