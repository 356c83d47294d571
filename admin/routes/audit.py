"""The audit log (admins): filter, page through, export. No route changes it."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import PARIS, render
from admin.routes.stats import table_file
from admin.security import CurrentAdmin, DbSession
from knowledge import audit
from knowledge.catalog.sheets import Table
from knowledge.errors import InvalidInput
from knowledge.timeutil import day_start_utc

router = APIRouter()
PAGE_SIZE = 50


def _day(value: str | None, *, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput("Date invalide : utilisez le format AAAA-MM-JJ.") from error
    return day_start_utc(day, PARIS, next_day=next_day)


def _criteria(request: Request) -> tuple[audit.AuditFilter, dict[str, str]]:
    params = request.query_params
    values = {name: (params.get(name) or "").strip()[:200]
              for name in ("actor", "action", "object_type", "object_id", "from", "to")}
    criteria = audit.AuditFilter(
        actor=values["actor"], action=values["action"], object_type=values["object_type"],
        object_id=values["object_id"], since=_day(values["from"]),
        until=_day(values["to"], next_day=True))
    return criteria, values


@router.get("/audit")
def audit_page(request: Request, db: DbSession, admin: CurrentAdmin) -> HTMLResponse:
    """List the audit events matching the filters, newest first, 50 per page."""
    criteria, values = _criteria(request)
    try:
        page = max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        page = 1
    events, total = audit.search(session=db, criteria=criteria,
                                 offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    actions, object_types = audit.known_values(session=db)
    query = urlencode({key: value for key, value in values.items() if value})
    return render(request, "audit.html", {
        "events": events, "total": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "filters": values,
        "actions": actions, "object_types": object_types, "query": query,
        "details_text": audit.details_text,
    })


@router.get("/audit/export/{filename}")
def audit_export(request: Request, filename: str, db: DbSession,
                 admin: CurrentAdmin) -> Response:
    """Download the matching events as `journal.csv` or `journal.xlsx`."""
    criteria, _ = _criteria(request)
    events, _ = audit.search(session=db, criteria=criteria, limit=audit.EXPORT_LIMIT)
    table = Table("journal", "Journal d'audit",
                  ("N°", "Date (UTC)", "Acteur", "Action", "Objet", "Identifiant", "Détails"),
                  tuple((event.id, event.at, event.actor, event.action, event.object_type,
                         event.object_id, audit.details_text(event.details))
                        for event in events))
    return table_file([table], filename, "audit")
