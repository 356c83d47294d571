"""Outbox state machine: claim with lease, parts, retry with backoff, failure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from knowledge.desk import outbox
from knowledge.store.models import OutboxKind, OutboxStatus
from knowledge.timeutil import utcnow


def _row(session: Session, chat_id: int = 1) -> int:
    return outbox.enqueue(session=session, kind=OutboxKind.ANSWER, chat_id=chat_id,
                          text="Réponse", created_by="t", ticket_id=None).id


def test_claimed_rows_are_invisible_until_the_lease_expires(session: Session) -> None:
    row_id = _row(session)
    now = utcnow()
    assert [r.id for r in outbox.claim_due(session=session, now=now)] == [row_id]
    assert outbox.claim_due(session=session, now=now + timedelta(seconds=5)) == []
    again = outbox.claim_due(session=session, now=now + outbox.CLAIM_LEASE + timedelta(seconds=1))
    assert [r.id for r in again] == [row_id] and again[0].attempts == 2


def test_sent_rows_keep_their_message_ids_and_are_never_claimed_again(session: Session) -> None:
    row_id = _row(session)
    outbox.claim_due(session=session)
    outbox.record_part_sent(session=session, outbox_id=row_id, telegram_message_id=11)
    outbox.record_part_sent(session=session, outbox_id=row_id, telegram_message_id=12)
    row = outbox.mark_sent(session=session, outbox_id=row_id)
    assert row.status == OutboxStatus.SENT.value and row.telegram_message_ids == [11, 12]
    assert outbox.claim_due(session=session, now=utcnow() + timedelta(days=1)) == []
    assert outbox.find_by_sent_message(session=session, chat_id=1,
                                       telegram_message_id=12).id == row_id  # type: ignore
    assert outbox.find_by_sent_message(session=session, chat_id=2, telegram_message_id=12) is None


def test_retries_back_off_and_give_up_at_the_cap(session: Session) -> None:
    row_id = _row(session)
    assert outbox.backoff(1) < outbox.backoff(2) < outbox.backoff(3)
    assert outbox.backoff(50) == timedelta(hours=1)
    now = utcnow()
    for _ in range(outbox.MAX_ATTEMPTS):
        [row] = outbox.claim_due(session=session, now=now + timedelta(days=1))
        outbox.schedule_retry(session=session, outbox_id=row_id, error="TimedOut", now=now)
    assert row.status == OutboxStatus.FAILED.value and "TimedOut" in (row.last_error or "")
