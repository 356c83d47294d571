"""Audit trail: who did what to which object, and when.

Append-only: this module only adds and reads events, and the database refuses UPDATE and
DELETE on `audit_events` (triggers of migration 0008).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, event, func, inspect, select
from sqlalchemy.orm import Session

from knowledge.store.models import (
    Asker,
    AuditEvent,
    KnowledgeEntry,
    Organisation,
    Ticket,
    User,
)
from knowledge.timeutil import utcnow

EXPORT_LIMIT = 100_000


# Fields whose before/after values an event carries when the service changed them in the same
# unit of work. Deliberately short: no personal data (an erased asker's name must not survive
# in an append-only log), no secrets (password hashes, invite and link codes), no long texts
# (entries keep their own revisions).
TRACKED_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "ticket": (Ticket, ("status", "assigned_to_id", "theme", "entry_id", "feedback")),
    "entry": (KnowledgeEntry, ("status", "theme", "revision", "review_by")),
    "asker": (Asker, ("status", "organisation_id", "digest_subscribed")),
    "organisation": (Organisation, ("name", "kind", "departement", "active")),
    "user": (User, ("login", "display_name", "role", "active")),
}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


_TYPE_OF = {model: name for name, (model, _) in TRACKED_FIELDS.items()}
_PENDING = "audit_pending_changes"


def _diff(instance: Any, fields: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(instance)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in fields:
        history = state.attrs[name].history
        if history.added or history.deleted:
            before[name] = _plain(history.deleted[0]) if history.deleted else None
            after[name] = _plain(history.added[0]) if history.added else None
    return before, after


@event.listens_for(Session, "before_flush")
def _remember_changes(session: Session, _context: Any, _instances: Any) -> None:
    # A query inside a service autoflushes and clears the attribute history before the service
    # records its event: keep what each flush changed until the event is recorded.
    pending = session.info.setdefault(_PENDING, {})
    for instance in session.dirty:
        object_type = _TYPE_OF.get(type(instance))
        if object_type is None:
            continue
        before, after = _diff(instance, TRACKED_FIELDS[object_type][1])
        if after or before:
            known_before, known_after = pending.setdefault(
                (object_type, str(instance.id)), ({}, {}))
            known_before.update({k: v for k, v in before.items() if k not in known_before})
            known_after.update(after)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


def changes(session: Session, object_type: str, object_id: object) -> dict[str, Any]:
    """Before/after values of the tracked fields changed in this unit of work, if any."""
    tracked = TRACKED_FIELDS.get(object_type)
    if tracked is None or object_id is None:
        return {}
    model, fields = tracked
    before, after = session.info.get(_PENDING, {}).pop((object_type, str(object_id)), ({}, {}))
    try:
        key = session.identity_key(model, int(str(object_id)))
    except (ValueError, TypeError):
        key = None
    instance = session.identity_map.get(key) if key is not None else None
    if instance is not None:
        now_before, now_after = _diff(instance, fields)
        before = {**now_before, **before}
        after = {**after, **now_after}
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        return {}
    return {"before": {name: before.get(name) for name in changed},
            "after": {name: after[name] for name in changed}}


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current unit of work, with before/after of tracked fields."""
    found = changes(session, object_type, object_id)
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details={**found, **(details or {})},
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
