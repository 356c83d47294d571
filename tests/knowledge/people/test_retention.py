"""Retention purge: rows on both sides of each limit, dry run, idempotence, the audit trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk import attachments, outbox, tickets
from knowledge.desk.attachments import AttachmentLimits, Upload
from knowledge.people import askers, organisations, retention
from knowledge.people.retention import RetentionPolicy, months_before
from knowledge.store.db import make_session_factory
from knowledge.store.desk_tables import ProcessHeartbeat
from knowledge.store.login_security import LoginThrottle
from knowledge.store.mail_models import Attachment, MailInboxMessage
from knowledge.store.models import (
    AuditEvent,
    InboxUpdate,
    LoginAttempt,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
    WebSession,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy()  # 24 months, 90 days, 30 days, 36 months, 30 days
DAY = timedelta(days=1)


def _asker(session: Session) -> int:
    org = organisations.create(session=session, name="Habitat 13",
                               kind=organisations.parse_kind("oph"), departement="13", actor="t")
    asker = askers.register_pending(session=session, telegram_user_id=424242, chat_id=424242,
                                    telegram_username="jdupont", full_name="Jeanne Dupont",
                                    email="jeanne.dupont@h13.fr", organisation_id=org.id)
    askers.approve(session=session, asker_id=asker.id, actor="t")
    return asker.id


def _ticket(session: Session, asker_id: int, closed_at: datetime | None) -> int:
    ticket = tickets.submit(session=session, asker_id=asker_id, telegram_chat_id=424242,
                            telegram_message_id=int(closed_at.timestamp()) if closed_at else 1,
                            text="Je suis Jeanne Dupont : que faire d'un loyer impayé ?")
    session.add(TicketMessage(ticket_id=ticket.id, author="adviser", kind="answer",
                              text="Bonjour Jeanne Dupont, il faut d'abord…"))
    [letter], _ = attachments.accept(uploads=[Upload(
        "mise-en-demeure-dupont.txt", None, b"Mme Jeanne Dupont doit 3 mois de loyer.")],
        limits=AttachmentLimits())
    attachments.store(session=session, ticket_id=ticket.id,
                      ticket_message_id=ticket.messages[0].id, upload=letter,
                      source="telegram", created_by=f"asker:{asker_id}")
    if closed_at is not None:
        ticket.status = TicketStatus.ANSWERED.value
        ticket.answered_at = closed_at
        session.add(Outbox(kind=OutboxKind.ANSWER.value, chat_id=424242, asker_id=asker_id,
                           ticket_id=ticket.id, text="réponse", status=OutboxStatus.SENT.value,
                           sent_at=NOW, created_by="t"))  # recent: counted under tickets only
    else:
        ticket.created_at = ticket.updated_at = NOW - timedelta(days=3000)
    session.flush()
    return ticket.id


def _fixture(session: Session) -> dict[str, int]:
    """One row just past each limit (purged) and one just within it (kept)."""
    asker_id = _asker(session)
    ticket_limit = months_before(NOW, POLICY.ticket_months)
    ids = {"old_ticket": _ticket(session, asker_id, ticket_limit - DAY),
           "new_ticket": _ticket(session, asker_id, ticket_limit + DAY),
           "open_ticket": _ticket(session, asker_id, None)}
    session.execute(text("DELETE FROM outbox WHERE ticket_id IS NULL"))  # approval message
    for age, status in ((91, OutboxStatus.SENT), (89, OutboxStatus.SENT),
                        (200, OutboxStatus.PENDING)):
        row = outbox.enqueue(session=session, kind=OutboxKind.RECEIPT, chat_id=424242,
                             text=f"message de {age} jours", created_by="t", asker_id=asker_id)
        row.status, row.created_at = status.value, NOW - age * DAY
        row.sent_at = row.created_at if status is OutboxStatus.SENT else None
        ids[f"outbox_{age}"] = row.id
    for number, (age, processed) in enumerate(((31, True), (29, True), (60, False)), start=1):
        session.add(InboxUpdate(update_id=number, chat_id=424242, kind="message",
                                payload={"message": {"text": "Jeanne Dupont"}},
                                received_at=NOW - age * DAY,
                                processed_at=NOW - age * DAY if processed else None))
    # Received mail: like the Telegram updates (processed 31 days ago goes, the rest stays).
    for number, (age, processed) in enumerate(((31, True), (29, True), (60, False)), start=1):
        session.add(MailInboxMessage(mailbox="svp/INBOX", uidvalidity=1, uid=number,
                                     raw=b"From: jeanne.dupont@example.org", size=31,
                                     received_at=NOW - age * DAY,
                                     processed_at=NOW - age * DAY if processed else None))
    audit_limit = months_before(NOW, POLICY.audit_details_months)
    for name, at, details in (("audit_old", audit_limit - DAY, {"reason": "Jeanne Dupont"}),
                              ("audit_new", audit_limit + DAY, {"reason": "Jeanne Dupont"}),
                              ("audit_empty", audit_limit - DAY, {})):
        event = audit.record(session=session, actor="t", action="asker.block",
                             object_type="asker", object_id=asker_id, details=details)
        event.at = at
        session.flush()
        ids[name] = event.id
    user = User(login="camille", display_name="Camille", password_hash="x")
    session.add(user)
    session.flush()
    for number, (expires, revoked) in enumerate(((31, None), (29, None), (-5, 31), (-5, None))):
        session.add(WebSession(id=f"s{number}", user_id=user.id, csrf_token="c",
                               expires_at=NOW - expires * DAY,
                               revoked_at=NOW - revoked * DAY if revoked else None))
    for age in (31, 29):
        session.add(LoginAttempt(at=NOW - age * DAY, ip="10.0.0.1", login="camille"))
        session.add(LoginThrottle(key=f"ip:10.0.0.{age}", failures=3,
                                  window_started_at=NOW - age * DAY,
                                  last_failure_at=NOW - age * DAY))
    session.commit()
    return ids


EXPECTED = {"tickets": 1, "attachments": 1, "outbox": 1, "inbox": 1, "mail_inbox": 1,
            "audit": 1, "sessions": 2, "login_attempts": 1, "login_throttles": 1,
            "member_access": 0}


def test_dry_run_counts_each_category_and_changes_nothing(session: Session) -> None:
    _fixture(session)
    report = retention.purge(session=session, policy=POLICY, actor="t", dry_run=True, now=NOW)
    assert report.counts == EXPECTED and report.dry_run
    session.commit()
    assert session.scalar(select(Ticket.asker_id).where(Ticket.asker_id.is_not(None))
                          .limit(1)) is not None
    assert session.query(InboxUpdate).count() == 3
    assert session.query(WebSession).count() == 4


def test_purge_applies_every_limit_and_keeps_what_is_within(session: Session) -> None:
    ids = _fixture(session)
    report = retention.purge(session=session, policy=POLICY, actor="t", now=NOW)
    session.commit()
    assert report.counts == EXPECTED
    old = session.get(Ticket, ids["old_ticket"])
    assert old is not None and old.asker_id is None and old.telegram_chat_id is None
    assert "Jeanne" not in old.text and "loyer impayé" in old.text  # the Q&A stays
    assert all("Jeanne" not in message.text and "Dupont" not in message.text
               for message in old.messages)
    assert session.query(Outbox).filter_by(ticket_id=old.id).count() == 0
    assert session.query(Attachment).filter_by(ticket_id=old.id).count() == 0  # bytes gone
    for kept in ("new_ticket", "open_ticket"):
        ticket = session.get(Ticket, ids[kept])
        assert ticket is not None and ticket.asker_id is not None and "Jeanne" in ticket.text
        assert session.query(Attachment).filter_by(ticket_id=ticket.id).count() == 1
    texts = {row.id: row.text for row in session.scalars(select(Outbox))}
    assert texts[ids["outbox_91"]] == ""
    assert texts[ids["outbox_89"]] == "message de 89 jours"
    assert texts[ids["outbox_200"]] == "message de 200 jours"  # not sent yet: kept
    assert sorted(session.scalars(select(InboxUpdate.update_id))) == [2, 3]
    details = {event.id: event.details for event in session.scalars(select(AuditEvent))}
    assert details[ids["audit_old"]] == {"redacted": True}
    assert details[ids["audit_new"]] == {"reason": "Jeanne Dupont"}
    assert details[ids["audit_empty"]] == {}
    assert sorted(session.scalars(select(WebSession.id))) == ["s1", "s3"]
    assert [a.at.day for a in session.scalars(select(LoginAttempt))] == [(NOW - 29 * DAY).day]
    assert list(session.scalars(select(LoginThrottle.key))) == ["ip:10.0.0.29"]
    [purge_event] = session.scalars(select(AuditEvent).where(AuditEvent.action ==
                                                            "privacy.purge")).all()
    assert purge_event.details == {"counts": EXPECTED}


def test_a_second_purge_changes_nothing(session: Session) -> None:
    _fixture(session)
    retention.purge(session=session, policy=POLICY, actor="t", now=NOW)
    session.commit()
    again = retention.purge(session=session, policy=POLICY, actor="t", now=NOW)
    assert again.total == 0
    session.commit()
    assert session.query(AuditEvent).filter_by(action="privacy.purge").count() == 1


def test_the_daily_purge_runs_once_a_day_whichever_process_asks(session: Session) -> None:
    _fixture(session)
    first = retention.purge_if_due(session=session, policy=POLICY, actor="bot", now=NOW)
    assert first is not None and first.counts == EXPECTED
    session.commit()
    assert retention.purge_if_due(session=session, policy=POLICY, actor="web",
                                  now=NOW + timedelta(hours=23)) is None
    later = retention.purge_if_due(session=session, policy=POLICY, actor="web",
                                   now=NOW + timedelta(hours=25))
    assert later is not None


def test_the_audit_log_still_refuses_changes_that_are_not_a_redaction(
        session: Session) -> None:
    event = audit.record(session=session, actor="t", action="ticket.submit",
                         object_type="ticket", object_id=1, details={"x": 1})
    session.commit()
    for statement in ("UPDATE audit_events SET details = '{\"x\": 2}'",
                      "UPDATE audit_events SET action = 'ticket.erase', "
                      "details = '{\"redacted\": true}'",
                      "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    session.execute(text("UPDATE audit_events SET details = '{\"redacted\": true}'"))
    session.commit()
    session.refresh(event)
    assert event.details == {"redacted": True} and event.action == "ticket.submit"


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2026, 1, 15, tzinfo=UTC), 24, datetime(2024, 1, 15, tzinfo=UTC)),
    (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
])
def test_months_are_calendar_months(moment: datetime, months: int,
                                    expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_two_processes_starting_together_purge_once_without_an_error(
        engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes the write lock at the first statement: no interleaving")
    factory = make_session_factory(engine)
    with factory() as first, factory() as second:
        # The first worker looked (and found no heartbeat) before the second committed its
        # first purge ever: its next look at the heartbeat answers as the earlier one did.
        original_get = first.get
        stale = [None]

        def looked_too_early(entity: object, key: object, **kwargs: object) -> object:
            if entity is ProcessHeartbeat and stale:
                return stale.pop()
            return original_get(entity, key, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(first, "get", looked_too_early)
        assert retention.purge_if_due(session=second, policy=POLICY, actor="web-2",
                                      now=NOW) is not None
        second.commit()
        assert retention.purge_if_due(session=first, policy=POLICY, actor="web-1",
                                      now=NOW) is None
        first.commit()
    with factory() as session:
        beats = session.scalars(select(ProcessHeartbeat)).all()
    assert [(beat.name, beat.last_seen_at) for beat in beats] == [(retention.DAILY, NOW)]
