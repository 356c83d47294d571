"""Member organisations: create, edit, invite codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession
from knowledge.people import organisations
from knowledge.store.models import OrganisationKind

router = APIRouter()


@router.get("/organisations")
def organisations_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """List organisations with a creation form."""
    return render(request, "organisations.html", {
        "organisations": organisations.list_organisations(session=db),
        "kinds": list(OrganisationKind),
    })


@router.post("/organisations")
def create_organisation(db: DbSession, user: CurrentUser,
                        name: Annotated[str, Form(max_length=200)],
                        kind: Annotated[str, Form(max_length=32)],
                        departement: Annotated[str, Form(max_length=3)] = "") -> Response:
    """Create an organisation."""
    organisation = organisations.create(
        session=db, name=name, kind=organisations.parse_kind(kind),
        departement=departement or None, actor=f"user:{user.login}")
    return redirect(f"/organisations/{organisation.id}", "org_saved")


@router.get("/organisations/{organisation_id}")
def organisation_page(request: Request, organisation_id: int, db: DbSession,
                      user: CurrentUser) -> HTMLResponse:
    """Show and edit one organisation."""
    return render(request, "organisation.html", {
        "organisation": organisations.get(session=db, organisation_id=organisation_id),
        "kinds": list(OrganisationKind),
    })


@router.post("/organisations/{organisation_id}")
def edit_organisation(organisation_id: int, db: DbSession, user: CurrentUser,
                      name: Annotated[str, Form(max_length=200)],
                      kind: Annotated[str, Form(max_length=32)],
                      departement: Annotated[str, Form(max_length=3)] = "",
                      active: Annotated[str, Form()] = "") -> Response:
    """Change an organisation's name, kind, département or active flag."""
    organisations.update(session=db, organisation_id=organisation_id, name=name,
                         kind=organisations.parse_kind(kind), departement=departement or None,
                         active=active == "1", actor=f"user:{user.login}")
    return redirect(f"/organisations/{organisation_id}", "org_saved")


@router.post("/organisations/{organisation_id}/invite")
def new_invite(request: Request, organisation_id: int, db: DbSession,
               user: CurrentUser) -> Response:
    """Give the organisation a new invite code (the previous one stops working)."""
    organisations.new_invite_code(session=db, organisation_id=organisation_id,
                                  actor=f"user:{user.login}")
    return redirect(f"/organisations/{organisation_id}", "org_saved")
