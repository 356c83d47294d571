"""Rendering of the admin's pages: one Jinja2 environment, shared context and notices."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from knowledge.catalog.sheets import format_cell
from knowledge.store.models import (
    ORGANISATION_KIND_LABELS,
    TICKET_STATUS_LABELS,
    OrganisationKind,
    TicketStatus,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PARIS = ZoneInfo("Europe/Paris")

# Short notices shown after a redirect (`?info=key`): the URL never carries free text.
NOTICES = {
    "assigned": "La question vous est attribuée.",
    "clarified": "La demande de précision a été envoyée au demandeur.",
    "approved": "La réponse a été validée et sera envoyée au demandeur.",
    "rejected": "La question a été classée hors champ ; le demandeur sera prévenu.",
    "entry_saved": "La fiche a été enregistrée.",
    "entry_retired": "La fiche a été retirée des suggestions.",
    "entry_reinstated": "La fiche est de nouveau active.",
    "asker_approved": "Le demandeur a été approuvé.",
    "asker_blocked": "Le demandeur a été bloqué.",
    "org_saved": "L'organisme a été enregistré.",
    "password_changed": "Votre mot de passe a été changé. Veuillez vous reconnecter.",
    "user_created": "Le compte a été créé.",
    "user_disabled": "Le compte a été désactivé et ses sessions fermées.",
    "user_enabled": "Le compte a été réactivé.",
    "user_password": "Le mot de passe du compte a été changé et ses sessions fermées.",
    "logged_out": "Vous êtes déconnecté.",
}


def local_time(value: datetime | None) -> str:
    """Format a UTC timestamp in Paris time, French style."""
    if value is None:
        return ""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def status_label(value: str) -> str:
    """French label of a ticket status."""
    try:
        return TICKET_STATUS_LABELS[TicketStatus(value)]
    except ValueError:
        return value


def kind_label(value: str) -> str:
    """French label of an organisation kind."""
    try:
        return ORGANISATION_KIND_LABELS[OrganisationKind(value)]
    except ValueError:
        return value


def make_templates() -> Jinja2Templates:
    """Build the Jinja2 environment of the admin (autoescaping on)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["local_time"] = local_time
    templates.env.filters["status_label"] = status_label
    templates.env.filters["kind_label"] = kind_label
    templates.env.filters["cell"] = format_cell
    templates.env.globals["status_labels"] = TICKET_STATUS_LABELS
    templates.env.globals["kind_labels"] = ORGANISATION_KIND_LABELS
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """Render a page with the visitor, their CSRF token and any notice."""
    visitor = getattr(request.state, "visitor", None)
    info = request.query_params.get("info")
    full = {
        "visitor": visitor,
        "user": visitor.user if visitor else None,
        "csrf_token": visitor.csrf_token if visitor else "",
        "notice": NOTICES.get(info or ""),
        **(context or {}),
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def redirect(url: str, info: str | None = None) -> RedirectResponse:
    """Redirect after a POST (303), with an optional notice key."""
    if info:
        url = f"{url}{'&' if '?' in url else '?'}info={info}"
    return RedirectResponse(url, status_code=303)
