"""The mail inbox (issue 24): a message is stored once per mailbox, UIDVALIDITY and UID, even
by two readers at once; copies of a Message-ID are kept as duplicates; the processor takes the
rows in order, once, and a message that keeps failing is given up after a few attempts."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from knowledge.desk import mail_inbox
from knowledge.store.db import make_session_factory
from knowledge.store.mail_models import MailInboxMessage
from knowledge.timeutil import utcnow

BOX = "svp@svp.example/INBOX"


def _record(session: Session, uid: int, *, uidvalidity: int = 7,
            message_id: str | None = None, raw: bytes = b"From: a@b.c\r\n\r\nx\r\n") -> int | None:
    return mail_inbox.record(session=session, mailbox=BOX, uidvalidity=uidvalidity, uid=uid,
                             raw=raw, message_id=message_id or f"<{uid}.{uidvalidity}@b.c>",
                             sender="a@b.c", size=len(raw))


def test_a_uid_is_stored_once_and_the_stored_ones_are_known(session: Session) -> None:
    first = _record(session, 1)
    assert first is not None
    assert _record(session, 1) is None
    assert _record(session, 2) is not None
    assert _record(session, 1, uidvalidity=8) is not None  # a rebuilt mailbox: a new key
    session.commit()
    assert mail_inbox.stored_uids(session=session, mailbox=BOX, uidvalidity=7,
                                  uids=[1, 2, 3]) == {1, 2}
    assert mail_inbox.stored_uids(session=session, mailbox="other/INBOX", uidvalidity=7,
                                  uids=[1, 2, 3]) == set()
    assert session.scalar(select(MailInboxMessage.raw).where(
        MailInboxMessage.id == first)) == b"From: a@b.c\r\n\r\nx\r\n"


def test_two_readers_storing_the_same_uid_at_once_store_it_once_and_keep_their_other_rows(
        engine: Engine) -> None:
    sessions = make_session_factory(engine)
    first = sessions()
    assert _record(first, 5) is not None
    results: list[int | None] = []
    errors: list[BaseException] = []

    def second_reader() -> None:
        # Its own row first, then the same UID: on PostgreSQL its INSERT waits for the first
        # reader's row and fails on the unique key; on SQLite the whole transaction waits.
        try:
            with sessions() as second:
                results.append(_record(second, 6))
                results.append(_record(second, 5))
                second.commit()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=second_reader)
    thread.start()
    time.sleep(0.5)  # the second reader now waits on the first one's uncommitted row
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert errors == []
    assert results[0] is not None and results[1] is None
    with sessions() as session:
        assert sorted(session.scalars(select(MailInboxMessage.uid))) == [5, 6]


def test_a_known_message_id_is_a_duplicate_never_handed_over(session: Session) -> None:
    original = _record(session, 1, message_id="<same@b.c>")
    copy = _record(session, 1, uidvalidity=8, message_id="<same@b.c>")
    other = _record(session, 2, uidvalidity=8)
    session.commit()
    rows = {row.id: row for row in session.scalars(select(MailInboxMessage))}
    assert original is not None and copy is not None and other is not None
    assert rows[original].outcome is None and rows[original].processed_at is None
    assert rows[copy].outcome == mail_inbox.DUPLICATE and rows[copy].processed_at is not None
    assert [item.id for item in mail_inbox.next_pending(session=session, limit=10)] == [
        original, other]


def test_the_processor_takes_rows_in_order_and_marks_each_once(session: Session) -> None:
    ids = [_record(session, uid) for uid in (1, 2, 3)]
    too_large = mail_inbox.record(session=session, mailbox=BOX, uidvalidity=7, uid=4, raw=b"",
                                  message_id=None, sender=None, size=50_000_000,
                                  outcome=mail_inbox.TOO_LARGE)
    session.commit()
    taken = mail_inbox.next_pending(session=session, limit=2)
    assert [item.id for item in taken] == ids[:2]
    assert taken[0].raw == b"From: a@b.c\r\n\r\nx\r\n" and taken[0].attempts == 1
    assert mail_inbox.mark_processed(session=session, inbox_id=taken[0].id, outcome="question")
    assert not mail_inbox.mark_processed(session=session, inbox_id=taken[0].id,
                                         outcome="question")  # another worker was first
    session.commit()
    later = mail_inbox.next_pending(session=session, limit=10, after_id=taken[1].id)
    assert [item.id for item in later] == [ids[2]]  # too large: never handed over
    assert too_large not in [item.id for item in later]
    backlog = mail_inbox.backlog(session=session, now=utcnow() + timedelta(seconds=60))
    assert backlog.pending == 2 and backlog.unflagged == 4
    assert backlog.oldest_seconds is not None and backlog.oldest_seconds >= 59


def test_a_message_failing_every_time_is_given_up_after_the_attempts_cap(
        session: Session) -> None:
    inbox_id = _record(session, 1)
    assert inbox_id is not None
    session.commit()
    given_up = []
    for _ in range(mail_inbox.MAX_ATTEMPTS):
        (item,) = mail_inbox.next_pending(session=session, limit=1)
        session.commit()
        given_up.append(mail_inbox.record_failure(session=session, inbox_id=item.id,
                                                  error="base indisponible"))
        session.commit()
    assert given_up == [False] * (mail_inbox.MAX_ATTEMPTS - 1) + [True]
    assert mail_inbox.next_pending(session=session, limit=1) == []
    row = session.get(MailInboxMessage, inbox_id)
    assert row is not None
    assert (row.outcome, row.last_error) == (mail_inbox.FAILED, "base indisponible")


def test_a_message_that_kills_the_processor_is_given_up_too(session: Session) -> None:
    inbox_id = _record(session, 1)
    session.commit()
    for _ in range(mail_inbox.MAX_ATTEMPTS):  # claimed, then the process dies each time
        assert len(mail_inbox.next_pending(session=session, limit=1)) == 1
        session.commit()
    assert mail_inbox.next_pending(session=session, limit=1) == []
    session.commit()
    row = session.get(MailInboxMessage, inbox_id)
    assert row is not None and row.outcome == mail_inbox.FAILED
    assert row.last_error is not None and "tentatives" in row.last_error


def test_marking_flagged_notes_only_the_named_uids(session: Session) -> None:
    for uid in (1, 2, 3):
        _record(session, uid)
    assert mail_inbox.mark_flagged(session=session, mailbox=BOX, uidvalidity=7,
                                   uids=[1, 3]) == 2
    assert mail_inbox.mark_flagged(session=session, mailbox=BOX, uidvalidity=7, uids=[1]) == 0
    session.commit()
    flagged = {row.uid: row.flagged_at is not None
               for row in session.scalars(select(MailInboxMessage))}
    assert flagged == {1: True, 2: False, 3: True}
