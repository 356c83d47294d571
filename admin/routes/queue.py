"""The review queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from admin.pages import render
from admin.security import ConfigDep, CurrentUser, DbSession
from knowledge.desk import review
from knowledge.errors import InvalidInput
from knowledge.people import advisers, organisations
from knowledge.store.models import TicketStatus

router = APIRouter()


@router.get("/")
def home(user: CurrentUser) -> RedirectResponse:
    """Send the visitor to the review queue."""
    return RedirectResponse("/queue", status_code=303)


def _int(value: str | None, what: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"Filtre « {what} » invalide : « {value} ».") from None


@router.get("/queue")
def queue(request: Request, db: DbSession, user: CurrentUser,
          config: ConfigDep) -> HTMLResponse:
    """List the tickets with filters and age badges."""
    params = request.query_params
    status = params.get("status", "open")
    statuses: tuple[TicketStatus, ...]
    if status == "open":
        statuses = review.OPEN_STATUSES
    elif status == "all":
        statuses = tuple(TicketStatus)
    else:
        try:
            statuses = (TicketStatus(status),)
        except ValueError:
            raise InvalidInput(f"Statut inconnu : « {status} ».") from None
    assigned = params.get("assigned", "")
    criteria = review.QueueFilter(
        statuses=statuses,
        unassigned=assigned == "none",
        assigned_to_id=user.id if assigned == "me" else _int(
            assigned if assigned not in {"", "none", "me"} else None, "conseiller"),
        theme=params.get("theme") or None,
        organisation_id=_int(params.get("organisation"), "organisme"),
        departement=organisations.parse_departement(params.get("departement")),
        min_age_days=_int(params.get("min_age"), "ancienneté"),
    )
    items = review.list_queue(session=db, criteria=criteria,
                              target_days=config.target_delay_days)
    return render(request, "queue.html", {
        "items": items,
        "filters": {"status": status, "assigned": assigned,
                    "theme": params.get("theme", ""),
                    "organisation": params.get("organisation", ""),
                    "departement": params.get("departement", ""),
                    "min_age": params.get("min_age", "")},
        "themes": review.themes(session=db),
        "organisations": organisations.list_organisations(session=db),
        "advisers": [u for u in advisers.list_users(session=db) if u.active],
        "target_days": config.target_delay_days,
    })
