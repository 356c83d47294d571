"""The IMAP reader on a real Dovecot (127.0.0.1, TLS): every message is committed to the mail
inbox byte for byte before the server is told, once, whatever crashes, restarts, oversized or
broken messages and rebuilt mailboxes come along; IDLE wakes it; a refused login is retried."""

from __future__ import annotations

import imaplib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imap_server import ImapServer, imap_server
from sqlalchemy import select
from sqlalchemy.orm import undefer

from knowledge.desk import mail_inbox
from knowledge.runtime import Knowledge
from knowledge.store.mail_models import MailInboxMessage
from mail import imap
from mail.idle import idle
from mail.imap import ImapSettings, MailReader, connect, fetch_new

pytestmark = pytest.mark.slow  # a Dovecot child process per test

USER = "svp@svp.example"
STORED = {"\\Seen", "$SvpStored"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ImapServer]:
    """A Dovecot of this test alone."""
    with imap_server(tmp_path, users={USER: "password"}) as running:
        yield running


def _settings(server: ImapServer, **changes: Any) -> ImapSettings:
    values: dict[str, Any] = {"host": server.host, "port": server.port, "user": USER,
                              "password": "password", "cafile": str(server.cafile),
                              "timeout_seconds": 10}
    values.update(changes)
    return ImapSettings(**values)


def _message(number: int, *, sender: str = "claire@habitat-test.fr",
             message_id: str | None = None) -> bytes:
    identifier = message_id or f"<question-{number}@habitat-test.fr>"
    return (f"From: Claire Martin <{sender}>\r\nTo: {USER}\r\n"
            f"Subject: =?utf-8?q?Question_n=C2=B0_{number}?=\r\nMessage-ID: {identifier}\r\n"
            "Date: Thu, 4 Dec 2025 09:00:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"Peut-on étaler une régularisation de charges ? ({number})\r\n").encode()


def _rows(knowledge: Knowledge) -> list[MailInboxMessage]:
    with knowledge.session() as session:
        rows = list(session.scalars(select(MailInboxMessage).options(
            undefer(MailInboxMessage.raw)).order_by(MailInboxMessage.id)))
        session.expunge_all()
        return rows


def _pass(knowledge: Knowledge, settings: ImapSettings) -> imap.FetchReport:
    with connect(settings) as box:
        return fetch_new(box, knowledge, settings)


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_five_messages_are_stored_byte_for_byte_then_flagged_and_never_again(
        server: ImapServer, knowledge: Knowledge) -> None:
    sent = [_message(number, sender=f"asker{number}@habitat-test.fr") for number in range(5)]
    uids = [server.deliver(USER, raw) for raw in sent]
    settings = _settings(server)

    report = _pass(knowledge, settings)

    assert (report.stored, report.flagged) == (5, 5)
    rows = _rows(knowledge)
    assert [row.raw for row in rows] == sent
    assert [row.uid for row in rows] == uids
    assert [row.message_id for row in rows] == [f"<question-{n}@habitat-test.fr>"
                                                for n in range(5)]
    assert [row.sender for row in rows] == [f"asker{n}@habitat-test.fr" for n in range(5)]
    assert all(row.flagged_at is not None and row.processed_at is None for row in rows)
    assert all(server.flags(USER, uid) >= STORED for uid in uids)
    assert server.list_uids(USER) == uids  # flag mode leaves them in place

    again = _pass(knowledge, settings)
    assert (again.stored, again.flagged) == (0, 0)
    assert len(_rows(knowledge)) == 5


def test_a_crash_between_commit_and_flag_stores_once_and_flags_on_the_next_pass(
        server: ImapServer, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    uids = [server.deliver(USER, _message(number)) for number in range(3)]
    settings = _settings(server)
    real_flag = imap.flag

    def crash(*args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("killed between the commit and the flag")

    monkeypatch.setattr(imap, "flag", crash)
    with pytest.raises(ConnectionResetError):
        _pass(knowledge, settings)
    assert len(_rows(knowledge)) == 3  # committed before the server was told
    assert all(not STORED & server.flags(USER, uid) for uid in uids)

    monkeypatch.setattr(imap, "flag", real_flag)
    fetched: list[str] = []
    real_bodies = imap._bodies

    def bodies(box: imap.ImapMailbox, batch: list[int], part: str) -> dict[int, bytes]:
        fetched.append(part)
        return real_bodies(box, batch, part)

    monkeypatch.setattr(imap, "_bodies", bodies)
    report = _pass(knowledge, settings)

    assert (report.stored, report.flagged) == (0, 3)
    assert fetched == []  # stored already: not even read again
    rows = _rows(knowledge)
    assert [row.uid for row in rows] == uids
    assert all(row.flagged_at is not None for row in rows)
    assert all(server.flags(USER, uid) >= STORED for uid in uids)


def test_move_mode_moves_the_stored_messages_to_a_folder_it_creates(
        server: ImapServer, knowledge: Knowledge) -> None:
    sent = [_message(number) for number in range(2)]
    for raw in sent:
        server.deliver(USER, raw)
    settings = _settings(server, move_to="Traités")

    report = _pass(knowledge, settings)

    assert (report.stored, report.flagged) == (2, 2)
    assert server.list_uids(USER) == []
    client = server.client(USER)
    try:
        _, folders = client.list()
    finally:
        client.logout()
    assert any(line.endswith(b"Trait&AOk-s") for line in folders if isinstance(line, bytes))
    moved = server.list_uids(USER, "Trait&AOk-s")
    assert [server.fetch(USER, uid, "Trait&AOk-s") for uid in moved] == sent
    assert all(server.flags(USER, uid, "Trait&AOk-s") >= STORED for uid in moved)
    assert _pass(knowledge, settings).stored == 0
    assert [row.raw for row in _rows(knowledge)] == sent


def test_a_malformed_message_is_stored_as_it_came(server: ImapServer,
                                                  knowledge: Knowledge) -> None:
    broken = (b"From: =?iso-8859-1?q?Ren=E9?= \xe9l\xe8ve <<rene@habitat-test.fr\r\n"
              b"Subject: Caf\xe9 \xff\xfe r\xe9gularisation\r\n"
              b"X-Broken-Header-Without-Colon\r\n"
              b"Content-Type: multipart/mixed; boundary=\"never-closed\r\n"
              b"\r\n--never-closed\r\nContent-Type: text/plain; charset=latin-9000\r\n\r\n"
              b"\xe9t\xe9 sans fin\r\n")  # (no NUL: IMAP without BINARY cannot carry it)
    uid = server.deliver(USER, broken)

    report = _pass(knowledge, _settings(server))

    assert report.stored == 1
    (row,) = _rows(knowledge)
    assert row.raw == broken
    assert row.message_id is None
    assert row.sender is None or "@" in row.sender
    assert server.flags(USER, uid) >= STORED


def test_an_oversized_message_is_recorded_too_large_and_never_fetched_again(
        server: ImapServer, knowledge: Knowledge, caplog: pytest.LogCaptureFixture) -> None:
    big = _message(1) + b"x" * 30_000 + b"\r\n"
    small = _message(2)
    big_uid, small_uid = server.deliver(USER, big), server.deliver(USER, small)
    settings = _settings(server, max_message_bytes=20_000)

    with caplog.at_level(logging.WARNING, logger="mail.imap"):
        report = _pass(knowledge, settings)

    assert (report.stored, report.too_large, report.flagged) == (1, 1, 2)
    large, normal = _rows(knowledge)
    assert (large.uid, large.outcome, large.raw, large.size) == (
        big_uid, mail_inbox.TOO_LARGE, b"", len(big))
    assert large.message_id == "<question-1@habitat-test.fr>"
    assert large.processed_at is not None  # never handed to the processor
    assert normal.raw == small and normal.outcome is None
    assert server.flags(USER, big_uid) >= STORED and server.flags(USER, small_uid) >= STORED
    assert any("too_large" in record.getMessage() for record in caplog.records)
    with knowledge.session() as session:
        assert [row.uid for row in mail_inbox.next_pending(session=session, limit=5)] == [
            small_uid]
    assert _pass(knowledge, settings) == imap.FetchReport()
    assert len(_rows(knowledge)) == 2


def test_a_rebuilt_mailbox_stores_again_but_keeps_known_message_ids_as_duplicates(
        server: ImapServer, knowledge: Knowledge) -> None:
    known, anonymous = _message(1), _message(2).replace(b"Message-ID:", b"X-No-Id:")
    server.deliver(USER, known)
    server.deliver(USER, anonymous)
    settings = _settings(server)
    assert _pass(knowledge, settings).stored == 2
    with connect(settings) as box:
        first_validity = box.uidvalidity

    server.recreate(USER)  # a new UIDVALIDITY, UIDs from 1 again
    for raw in (known, anonymous, _message(3)):
        server.deliver(USER, raw)
    report = _pass(knowledge, settings)

    rows = _rows(knowledge)
    assert rows[2].uidvalidity != first_validity
    # The same Message-ID: kept, processed, never handed over again. Without a Message-ID a
    # copy cannot be told from a new message: it is stored again (documented).
    assert (report.stored, report.duplicates) == (2, 1)
    assert [(row.uid, row.outcome) for row in rows[2:]] == [
        (1, mail_inbox.DUPLICATE), (2, None), (3, None)]
    assert rows[2].raw == known and rows[2].processed_at is not None
    with knowledge.session() as session:
        pending = mail_inbox.next_pending(session=session, limit=10)
    assert [(item.uidvalidity, item.uid) for item in pending] == [
        (first_validity, 1), (first_validity, 2), (rows[3].uidvalidity, 2),
        (rows[3].uidvalidity, 3)]


def test_starttls_on_the_plain_port_reads_the_mailbox(server: ImapServer,
                                                       knowledge: Knowledge) -> None:
    raw = _message(1)
    server.deliver(USER, raw)

    report = _pass(knowledge, _settings(server, port=server.starttls_port,
                                        security="starttls"))

    assert report.stored == 1
    assert [row.raw for row in _rows(knowledge)] == [raw]


def test_idle_returns_as_soon_as_a_message_arrives(server: ImapServer) -> None:
    settings = _settings(server)
    with connect(settings) as box:
        assert box.can_idle
        assert idle(box.client, 0.5) is False  # nothing came: the wait runs out
        timer = threading.Timer(0.5, server.deliver, args=(USER, _message(1)))
        timer.start()
        started = time.monotonic()
        try:
            assert idle(box.client, 60) is True
        finally:
            timer.join()
        assert time.monotonic() - started < 30  # far before the 60 s of the wait
        box.client.noop()  # the session is still usable after DONE


def test_the_reader_idling_stores_a_delivery_at_once_and_hands_it_over(
        server: ImapServer, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    idling = threading.Event()
    real_idle = imap.idle

    def watched_idle(client: imaplib.IMAP4, seconds: float, **kwargs: Any) -> bool:
        idling.set()
        return real_idle(client, seconds, **kwargs)

    monkeypatch.setattr(imap, "idle", watched_idle)
    handed: list[int] = []
    # Polling every 10 minutes: only IDLE can bring the message within the deadline.
    reader = MailReader(knowledge, _settings(server, idle_seconds=600, poll_seconds=600),
                        on_stored=lambda: handed.append(len(_rows(knowledge))))
    reader.start()
    try:
        assert idling.wait(20)
        server.deliver(USER, _message(1))
        assert _wait(lambda: len(_rows(knowledge)) == 1)
        assert _wait(lambda: handed == [1])  # committed before the processor is called
    finally:
        reader.stop()
    assert not reader.running


def test_a_refused_login_is_one_logged_line_and_retried(
        server: ImapServer, knowledge: Knowledge, caplog: pytest.LogCaptureFixture) -> None:
    reader = MailReader(knowledge, _settings(server, password="wrong", retry_max_seconds=1))
    with caplog.at_level(logging.ERROR, logger="mail.imap"):
        reader.start()
        try:
            assert _wait(lambda: len(caplog.records) >= 2, timeout=30)
            assert reader.running
        finally:
            reader.stop()
    for record in caplog.records[:2]:
        message = record.getMessage()
        assert "\n" not in message and record.exc_info is None
        assert "Authentication failed" in message and "retry in" in message
        assert "wrong" not in message  # never the password
    assert _rows(knowledge) == []
