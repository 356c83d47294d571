"""Member organisations: create, edit, invite codes."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import ConfigDep, CurrentUser, DbSession
from knowledge.people import members, organisations
from knowledge.store.models import OrganisationKind

router = APIRouter()


def invite_link(bot_username: str | None, code: str | None) -> str | None:
    """The t.me deep link that opens the bot with the invite code, if the bot's name is known."""
    if not bot_username or not code:
        return None
    return f"https://t.me/{quote(bot_username.lstrip('@'), safe='')}?start={quote(code, safe='')}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of a text, drawn here (no external service)."""
    code = segno.make(text, error="m")
    return str(code.svg_inline(scale=5, border=2, title="QR code du lien d'invitation"))


@router.get("/organisations")
def organisations_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """List organisations with a creation form."""
    return render(request, "organisations.html", {
        "organisations": organisations.list_organisations(session=db),
        "missing_departement": organisations.without_departement(session=db),
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
                      user: CurrentUser, config: ConfigDep) -> HTMLResponse:
    """Show and edit one organisation, with its invite link and QR code."""
    organisation = organisations.get(session=db, organisation_id=organisation_id)
    link = invite_link(config.bot_username, organisation.invite_code)
    return render(request, "organisation.html", {
        "organisation": organisation,
        "kinds": list(OrganisationKind),
        "invite_link": link,
        "invite_qr": qr_svg(link) if link else None,
    })


@router.post("/organisations/{organisation_id}")
def edit_organisation(organisation_id: int, db: DbSession, user: CurrentUser,
                      name: Annotated[str, Form(max_length=200)],
                      kind: Annotated[str, Form(max_length=32)],
                      departement: Annotated[str, Form(max_length=3)] = "",
                      active: Annotated[str, Form()] = "",
                      email_domains: Annotated[str, Form(max_length=5_000)] = "") -> Response:
    """Change an organisation's name, kind, département, mail domains or active flag."""
    organisations.update(session=db, organisation_id=organisation_id, name=name,
                         kind=organisations.parse_kind(kind), departement=departement or None,
                         active=active == "1", actor=f"user:{user.login}")
    members.set_domains(session=db, organisation_id=organisation_id,
                        domains=members.parse_domains(email_domains), actor=f"user:{user.login}")
    return redirect(f"/organisations/{organisation_id}", "org_saved")


@router.post("/organisations/{organisation_id}/invite")
def new_invite(request: Request, organisation_id: int, db: DbSession,
               user: CurrentUser) -> Response:
    """Give the organisation a new invite code (the previous one stops working)."""
    previous = organisations.get(session=db, organisation_id=organisation_id).invite_code
    organisations.new_invite_code(session=db, organisation_id=organisation_id,
                                  actor=f"user:{user.login}")
    return redirect(f"/organisations/{organisation_id}",
                    "invite_replaced" if previous else "invite_created")
