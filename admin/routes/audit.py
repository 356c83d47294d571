"""The audit log (admins): filter, page through, export. No route changes it."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from admin import audit_texts
from admin.pages import PARIS, render
from admin.routes.stats import table_file
from admin.security import CurrentAdmin, DbSession
from knowledge import audit
from knowledge.catalog.sheets import Table
from knowledge.errors import InvalidInput
from knowledge.people import advisers
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


def _accounts(db: DbSession) -> audit_texts.Accounts:
    users = advisers.list_users(session=db)
    return audit_texts.Accounts(by_login={user.login: user.display_name for user in users},
                                by_id={user.id: user.display_name for user in users})


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
    accounts = _accounts(db)
    return render(request, "audit.html", {
        "lines": [audit_texts.line(event, accounts) for event in events], "total": total,
        "page": page, "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "filters": values,
        "action_groups": audit_texts.action_choices(actions),
        "object_types": audit_texts.object_choices(object_types), "query": query,
    })


@router.get("/audit/export/{filename}")
def audit_export(request: Request, filename: str, db: DbSession,
                 admin: CurrentAdmin) -> Response:
    """Download the matching events as `journal.csv` or `journal.xlsx`."""
    criteria, _ = _criteria(request)
    events, _ = audit.search(session=db, criteria=criteria, limit=audit.EXPORT_LIMIT)
    accounts = _accounts(db)
    lines = [audit_texts.line(event, accounts) for event in events]
    # French for people, the stored codes in their own columns for machines.
    table = Table("journal", "Journal d'audit",
                  ("N°", "Date (UTC)", "Auteur", "Ce qui a été fait", "Objet", "Détails",
                   "Code de l'auteur", "Code de l'action", "Type d'objet", "N° de l'objet"),
                  tuple((line.event.id, line.event.at, line.actor.name,
                         f"{line.actor.name} {line.sentence}", line.object,
                         audit_texts.details_line(line.details), line.event.actor,
                         line.event.action, line.event.object_type, line.event.object_id)
                        for line in lines))
    return table_file([table], filename, "audit")
