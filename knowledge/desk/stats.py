"""Operational counts read from the database (for /metrics and the admin's overview)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.store.models import (
    Asker,
    AskerStatus,
    EntryStatus,
    KnowledgeEntry,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Ticket,
    TicketStatus,
)


@dataclass(frozen=True)
class OperationalCounts:
    """Totals since the start of the database, and the current backlog."""

    questions_received: int
    suggestions_shown: int
    self_served: int
    answers_sent: int
    outbox_pending: int
    outbox_failed: int
    tickets_by_status: dict[str, int]
    active_entries: int
    pending_askers: int


def _count(session: Session, *conditions: object, model: type = Ticket) -> int:
    query = select(func.count()).select_from(model)
    for condition in conditions:
        query = query.where(condition)  # type: ignore[arg-type]
    return int(session.scalar(query) or 0)


def counts(*, session: Session) -> OperationalCounts:
    """Compute the operational counts now."""
    by_status = {status.value: 0 for status in TicketStatus}
    for status, number in session.execute(
            select(Ticket.status, func.count()).group_by(Ticket.status)):
        by_status[status] = int(number)
    # JSON lists cannot be tested for emptiness the same way on SQLite and PostgreSQL;
    # tickets number in the hundreds a year, so counting in Python is cheap.
    shown = sum(1 for ids in session.scalars(select(Ticket.suggested_entry_ids)) if ids)
    return OperationalCounts(
        questions_received=sum(by_status.values()),
        suggestions_shown=shown,
        self_served=by_status.get(TicketStatus.SELF_SERVED.value, 0),
        answers_sent=_count(session, Outbox.kind == OutboxKind.ANSWER.value,
                            Outbox.status == OutboxStatus.SENT.value, model=Outbox),
        outbox_pending=_count(session, Outbox.status == OutboxStatus.PENDING.value,
                              model=Outbox),
        outbox_failed=_count(session, Outbox.status == OutboxStatus.FAILED.value, model=Outbox),
        tickets_by_status=by_status,
        active_entries=_count(session, KnowledgeEntry.status == EntryStatus.ACTIVE.value,
                              model=KnowledgeEntry),
        pending_askers=_count(session, Asker.status == AskerStatus.PENDING.value, model=Asker),
    )
