"""Rendering of the admin's pages: one Jinja2 environment, shared context and notices."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from knowledge.catalog.sheets import format_cell
from knowledge.desk import attachments, drafts, formatting, review
from knowledge.store.models import (
    ORGANISATION_KIND_LABELS,
    TICKET_STATUS_LABELS,
    OrganisationKind,
    TicketStatus,
)

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PARIS = ZoneInfo("Europe/Paris")

# Short notices shown after a redirect (`?info=key`): the URL never carries free text.
NOTICES = {
    "assigned": "La question vous est attribuée.",
    "clarified": "La demande de précision est enregistrée : le bot l'envoie au demandeur "
                 "(son état figure ci-dessous).",
    "approved": "La réponse a été validée ; le bot l'envoie au demandeur (son état figure "
                "ci-dessous).",
    "draft_saved": "Le brouillon est enregistré ; rien n'a été envoyé.",
    "note_added": "La note interne est ajoutée ; elle n'est pas envoyée au demandeur.",
    "follow_up": "Le complément est enregistré ; le bot l'envoie au demandeur.",
    "released": "La question est rendue à la file d'attente.",
    "handed_over": "La question est confiée à votre collègue.",
    "template_saved": "Le modèle de réponse est enregistré.",
    "template_deleted": "Le modèle de réponse est supprimé.",
    "rejected": "La question a été classée hors champ ; le demandeur sera prévenu.",
    "entry_saved": "La fiche a été enregistrée.",
    "entry_retired": "La fiche a été retirée des suggestions.",
    "entry_reinstated": "La fiche est de nouveau active.",
    "entry_restored": "L'ancienne révision est devenue la version en vigueur.",
    "entry_verified": "La vérification est enregistrée et la prochaine date fixée.",
    "corrections_sent": "La correction part vers les demandeurs concernés (voir ci-dessous).",
    "theme_added": "Le thème a été ajouté.",
    "theme_renamed": "Le thème a été renommé, ses fiches aussi.",
    "theme_merged": "Les thèmes ont été fusionnés.",
    "asker_approved": "Le demandeur a été approuvé.",
    "asker_blocked": "Le demandeur a été bloqué.",
    "asker_erased": "Les données personnelles du demandeur ont été effacées.",
    "user_erased": "Les données personnelles du compte ont été effacées.",
    "org_saved": "L'organisme a été enregistré.",
    "invite_created": "Le code d'invitation a été créé.",
    "invite_replaced": "Le code a été remplacé : l'ancien ne fonctionne plus.",
    "password_changed": "Votre mot de passe a été changé. Veuillez vous reconnecter.",
    "user_created": "Le compte a été créé.",
    "user_disabled": "Le compte a été désactivé et ses sessions fermées.",
    "user_enabled": "Le compte a été réactivé.",
    "user_password": "Le mot de passe du compte a été changé et ses sessions fermées.",
    "logged_out": "Vous êtes déconnecté.",
    "session_closed": "La session a été fermée.",
    "second_factor_off": "La double authentification est désactivée.",
    "second_factor_required": "Activez la double authentification pour continuer.",
    "user_second_factor_off": "La double authentification du compte a été désactivée.",
    "user_sessions_closed": "Les sessions du compte ont été fermées.",
    "term_saved": "Le terme du glossaire a été enregistré.",
    "term_deleted": "Le terme a été supprimé du glossaire.",
    "phrasing_added": "La formulation a été ajoutée à la fiche.",
    "phrasing_removed": "La formulation a été supprimée : la recherche ne l'utilise plus.",
    "api_token_revoked": "Le jeton d'accès a été révoqué : il est refusé dès l'appel suivant.",
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


def light_markup(value: str | None) -> Markup:
    """An answer's **bold** and [links](https://...) as HTML, everything else escaped."""
    return Markup(formatting.to_page_html(value or ""))  # escaped by to_page_html


def filesize(size: int) -> str:
    """A file's size in French: « 850 octets », « 12 Ko », « 1,4 Mo »."""
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} Ko"
    return attachments.megabytes(size)


def file_kind(content_type: str) -> str:
    """French label of a stored file's (sniffed) type."""
    return next((kind.label for kind in attachments.ACCEPTED_TYPES
                 if kind.content_type == content_type), content_type)


def make_templates() -> Jinja2Templates:
    """Build the Jinja2 environment of the admin (autoescaping on)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["local_time"] = local_time
    templates.env.filters["status_label"] = status_label
    templates.env.filters["kind_label"] = kind_label
    templates.env.filters["cell"] = format_cell
    templates.env.filters["light_markup"] = light_markup
    templates.env.filters["filesize"] = filesize
    templates.env.filters["file_kind"] = file_kind
    templates.env.globals["status_labels"] = TICKET_STATUS_LABELS
    templates.env.globals["kind_labels"] = ORGANISATION_KIND_LABELS
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """Render a page with the visitor, their CSRF token and any notice."""
    visitor = getattr(request.state, "visitor", None)
    info = request.query_params.get("info")
    full = {
        "my_count": _my_count(request, visitor.user.id) if visitor else None,
        "visitor": visitor,
        "user": visitor.user if visitor else None,
        "csrf_token": visitor.csrf_token if visitor else "",
        "notice": NOTICES.get(info or ""),
        **(context or {}),
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def _my_count(request: Request, user_id: int) -> int | None:
    # The menu's "mes questions": read on its own snapshot, never waiting on the request's
    # unit of work (SQLite's write lock).
    try:
        with request.app.state.knowledge.reading() as session:
            return review.count_mine(session=session, adviser_id=user_id)
    except Exception:  # the menu must never break a page
        logger.exception("count of the adviser's questions failed")
        return None


def redirect(url: str, info: str | None = None) -> RedirectResponse:
    """Redirect after a POST (303), with an optional notice key."""
    if info:
        url = f"{url}{'&' if '?' in url else '?'}info={info}"
    return RedirectResponse(url, status_code=303)


def similarity_words(*, close: float, very_close: float) -> Callable[[float], str]:
    """The words a page shows for a similarity score (thresholds of suggestion and duplicate)."""
    return lambda score: drafts.similarity_label(score, close=close, very_close=very_close)
