"""Askers: approve or block the staff members who registered through Telegram."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession
from knowledge.people import askers
from knowledge.store.models import AskerStatus

router = APIRouter()

STATUS_LABELS = {
    AskerStatus.PENDING.value: "En attente",
    AskerStatus.APPROVED.value: "Approuvé",
    AskerStatus.BLOCKED.value: "Bloqué",
    AskerStatus.ERASED.value: "Effacé",
}


@router.get("/askers")
def askers_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """List askers, pending ones first by default."""
    status = request.query_params.get("status", AskerStatus.PENDING.value)
    if status not in STATUS_LABELS and status != "all":
        status = AskerStatus.PENDING.value
    listed = askers.list_askers(session=db, status=None if status == "all" else status)
    return render(request, "askers.html", {"askers": listed, "status": status,
                                           "status_labels": STATUS_LABELS})


@router.post("/askers/{asker_id}/approve")
def approve_asker(asker_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Let a pending asker ask questions."""
    askers.approve(session=db, asker_id=asker_id, actor=f"user:{user.login}")
    return redirect("/askers", "asker_approved")


@router.post("/askers/{asker_id}/block")
def block_asker(asker_id: int, db: DbSession, user: CurrentUser,
                reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Refuse or stop an asker."""
    askers.block(session=db, asker_id=asker_id, actor=f"user:{user.login}",
                 reason=reason or None)
    return redirect("/askers", "asker_blocked")
