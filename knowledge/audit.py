"""Audit trail: who did what to which object, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.store.models import AuditEvent
from knowledge.timeutil import utcnow


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current unit of work."""
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or {},
    )
    session.add(event)
    return event


def for_object(*, session: Session, object_type: str, object_id: object) -> list[AuditEvent]:
    """Return the events about one object, oldest first."""
    return list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)
    ))
