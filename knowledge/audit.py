"""Audit trail: who did what to which object, and when.

Append-only: this module only adds and reads events, and the database refuses UPDATE and
DELETE on `audit_events` (triggers of migration 0008).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from knowledge.sheets import Table
from knowledge.store.models import AuditEvent
from knowledge.timeutil import utcnow

EXPORT_LIMIT = 100_000


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


@dataclass(frozen=True)
class AuditFilter:
    """Criteria of the audit page; empty fields are ignored. Times are UTC, `until` excluded."""

    actor: str = ""  # part of the actor, e.g. `camille` or `asker:12`
    action: str = ""  # exact action, or a prefix ending with `.` (e.g. `ticket.`)
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[Any], criteria: AuditFilter) -> Select[Any]:
    if criteria.actor:
        query = query.where(func.lower(AuditEvent.actor).contains(criteria.actor.lower(),
                                                                 autoescape=True))
    if criteria.action.endswith("."):
        query = query.where(AuditEvent.action.startswith(criteria.action, autoescape=True))
    elif criteria.action:
        query = query.where(AuditEvent.action == criteria.action)
    if criteria.object_type:
        query = query.where(AuditEvent.object_type == criteria.object_type)
    if criteria.object_id:
        query = query.where(AuditEvent.object_id == criteria.object_id)
    if criteria.since is not None:
        query = query.where(AuditEvent.at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.at < criteria.until)
    return query


def search(*, session: Session, criteria: AuditFilter, offset: int = 0,
           limit: int = 50) -> tuple[list[AuditEvent], int]:
    """Return one page of matching events, newest first, and how many match in all."""
    total = session.scalar(_filtered(select(func.count(AuditEvent.id)), criteria)) or 0
    events = session.scalars(_filtered(select(AuditEvent), criteria)
                             .order_by(AuditEvent.id.desc()).offset(offset).limit(limit))
    return list(events), int(total)


def known_values(*, session: Session) -> tuple[list[str], list[str]]:
    """The actions and object types recorded so far (for the filter lists)."""
    actions = session.scalars(select(AuditEvent.action).distinct())
    types = session.scalars(select(AuditEvent.object_type).distinct())
    return sorted(actions), sorted(types)


def details_text(details: dict[str, Any] | None) -> str:
    """Details of an event (before/after when the service gave them) as compact JSON."""
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True) if details else ""


def table(*, session: Session, criteria: AuditFilter) -> Table:
    """Every matching event (up to the export limit) as a table, newest first."""
    events, _ = search(session=session, criteria=criteria, limit=EXPORT_LIMIT)
    return Table("journal", "Journal d'audit",
                 ("N°", "Date (UTC)", "Acteur", "Action", "Objet", "Identifiant", "Détails"),
                 tuple((event.id, event.at, event.actor, event.action, event.object_type,
                        event.object_id, details_text(event.details)) for event in events))
