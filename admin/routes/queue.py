"""The review queue."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from admin.pages import render
from admin.security import ConfigDep, CurrentUser, DbSession
from knowledge.desk import review, tickets
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
        statuses = tickets.OPEN_STATUSES
    elif status == "all":
        statuses = ()  # no condition at all: the cheapest query
    else:
        try:
            statuses = (TicketStatus(status),)
        except ValueError:
            raise InvalidInput(f"Statut inconnu : « {status} ».") from None
    assigned = params.get("assigned", "")
    min_age = _int(params.get("min_age"), "ancienneté")
    if min_age is not None and not 0 <= min_age <= review.MAX_MIN_AGE_DAYS:
        raise InvalidInput(f"Filtre « ancienneté » invalide : de 0 à {review.MAX_MIN_AGE_DAYS} "
                           "jours ouvrés.")
    feedback = params.get("feedback", "")
    if feedback and feedback not in review.FEEDBACK_FILTERS:
        raise InvalidInput(f"Filtre d'avis inconnu : « {feedback} ».")
    criteria = review.QueueFilter(
        statuses=statuses,
        unassigned=assigned == "none",
        assigned_to_id=user.id if assigned == "me" else _int(
            assigned if assigned not in {"", "none", "me"} else None, "conseiller"),
        theme=params.get("theme") or None,
        organisation_id=_int(params.get("organisation"), "organisme"),
        departement=organisations.parse_departement(params.get("departement")),
        min_age_days=min_age,
        text=params.get("q") or None,
        feedback=feedback or None,
    )
    result = review.queue_page(session=db, criteria=criteria,
                               page=_int(params.get("page"), "page") or 1,
                               target_days=config.target_delay_days)
    filters = {"status": status, "assigned": assigned, "theme": params.get("theme", ""),
               "organisation": params.get("organisation", ""),
               "departement": params.get("departement", ""),
               "min_age": params.get("min_age", ""), "q": params.get("q", ""),
               "feedback": feedback}
    return render(request, "queue.html", {
        "result": result,
        "items": result.items,
        "filters": filters,
        "active_filters": sum(1 for key, value in filters.items()
                              if value and not (key == "status" and value == "open")),
        "page_url": "/queue?" + urlencode({k: v for k, v in filters.items() if v}),
        "themes": review.themes(session=db),
        "organisations": organisations.list_organisations(session=db),
        "advisers": [u for u in advisers.list_users(session=db) if u.active],
        "feedback_filters": review.FEEDBACK_FILTERS,
        "target_days": config.target_delay_days,
        "latest_id": review.latest_ticket_id(session=db),
    })


@router.get("/queue/updates")
def queue_updates(db: DbSession, user: CurrentUser, since: int = 0) -> JSONResponse:
    """What changed since the queue page was drawn: newest ticket, new open ones, my count."""
    latest = review.latest_ticket_id(session=db)
    return JSONResponse({
        "latest": latest,
        "new": review.count_open_since(session=db, after_id=since) if latest > since else 0,
        "mine": review.count_mine(session=db, adviser_id=user.id),
    }, headers={"Cache-Control": "no-store"})
