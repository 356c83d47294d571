"""Requests of the persons concerned, answered by an admin: a copy of the data, or erasure.

For requests that arrive by mail or phone: an asker's data (same content as /mesdonnees in the
bot) and an adviser account's data can be downloaded (JSON or CSV) and erased. Every download
and erasure is recorded in the audit log, with ids and counts only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from admin.pages import redirect, render
from admin.security import ConfigDep, CurrentAdmin, DbSession, KnowledgeDep, reauthenticate
from knowledge.errors import InvalidInput
from knowledge.people import advisers, askers, data_requests

router = APIRouter()

_FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
_CONFIRM = "Cochez la case de confirmation pour effacer ces données."


def _download(db: Session, admin_login: str, *, object_type: str, object_id: int,
              data: dict[str, Any], fmt: str, name: str) -> Response:
    """The data as a JSON or CSV attachment; the download is audited (ids and format only)."""
    if fmt not in _FORMATS:
        raise InvalidInput("Format inconnu : choisissez JSON ou CSV.")
    content = data_requests.to_json(data) if fmt == "json" else data_requests.to_csv(data)
    data_requests.record_export(session=db, object_type=object_type, object_id=object_id,
                                actor=f"user:{admin_login}", fmt=fmt)
    return Response(content, media_type=_FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        "Cache-Control": "no-store"})


@router.get("/askers/{asker_id}/donnees")
def asker_data_page(request: Request, asker_id: int, db: DbSession,
                    admin: CurrentAdmin) -> HTMLResponse:
    """What is stored about an asker, with download and erasure."""
    asker = askers.get(session=db, asker_id=asker_id)
    data = data_requests.asker_data(session=db, asker_id=asker_id)
    return render(request, "personal_data.html", {
        "kind": "asker", "subject": asker, "base": f"/askers/{asker_id}/donnees",
        "title": f"Données du demandeur n° {asker_id}",
        "name": asker.full_name or "(effacé)", "erased": asker.status == "erased",
        "summary": [("Questions", len(data["questions"])),
                    ("Messages envoyés", len(data["messages_envoyes"])),
                    ("Entrées du journal", len(data["journal"]))]})


@router.post("/askers/{asker_id}/donnees/export")
def export_asker(asker_id: int, db: DbSession, admin: CurrentAdmin,
                 fmt: Annotated[str, Form(alias="format", max_length=8)] = "json") -> Response:
    """Download an asker's data (the download is audited)."""
    return _download(db, admin.login, object_type="asker", object_id=asker_id,
                     data=data_requests.asker_data(session=db, asker_id=asker_id), fmt=fmt,
                     name=f"demandeur-{asker_id}")


@router.post("/askers/{asker_id}/donnees/effacer")
def erase_asker(asker_id: int, db: DbSession, admin: CurrentAdmin, knowledge: KnowledgeDep,
                confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    """Erase an asker's personal data from every table (their questions stay, anonymised)."""
    if confirm != "oui":
        raise InvalidInput(_CONFIRM)
    data_requests.erase_asker(session=db, asker_id=asker_id, actor=f"user:{admin.login}",
                              embedder=knowledge.embedder)
    return redirect(f"/askers/{asker_id}/donnees", "asker_erased")


@router.get("/users/{user_id}/donnees")
def user_data_page(request: Request, user_id: int, db: DbSession,
                   admin: CurrentAdmin) -> HTMLResponse:
    """What is stored about an adviser's account, with download and erasure."""
    account = advisers.get(session=db, user_id=user_id)
    data = data_requests.adviser_data(session=db, user_id=user_id)
    return render(request, "personal_data.html", {
        "kind": "user", "subject": account, "base": f"/users/{user_id}/donnees",
        "title": f"Données du compte n° {user_id}",
        "name": account.display_name, "erased": account.display_name ==
        data_requests.ERASED_ADVISER, "own": account.id == admin.id,
        "summary": [("Sessions", len(data["sessions"])),
                    ("Tentatives de connexion", len(data["tentatives_de_connexion"])),
                    ("Messages rédigés", len(data["messages_rediges"])),
                    ("Entrées du journal", len(data["journal"]))]})


@router.post("/users/{user_id}/donnees/export")
def export_user(user_id: int, db: DbSession, admin: CurrentAdmin,
                fmt: Annotated[str, Form(alias="format", max_length=8)] = "json") -> Response:
    """Download an adviser account's data (the download is audited)."""
    return _download(db, admin.login, object_type="user", object_id=user_id,
                     data=data_requests.adviser_data(session=db, user_id=user_id), fmt=fmt,
                     name=f"compte-{user_id}")


@router.post("/users/{user_id}/donnees/effacer")
def erase_user(request: Request, user_id: int, db: DbSession, admin: CurrentAdmin,
               config: ConfigDep, admin_password: Annotated[str, Form(max_length=500)],
               confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    """Erase an adviser's account data; their answers stay, no longer signed."""
    if confirm != "oui":
        raise InvalidInput(_CONFIRM)
    reauthenticate(db, request, config, admin, admin_password)
    data_requests.erase_adviser(session=db, user_id=user_id, actor_user_id=admin.id,
                                actor=f"user:{admin.login}")
    return redirect(f"/users/{user_id}/donnees", "user_erased")
