"""The monthly digest page: choose the entries, download Word or HTML, send to subscribers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession, KnowledgeDep
from knowledge import privacy
from knowledge.catalog import activity, digest
from knowledge.desk.workdays import PARIS
from knowledge.errors import NotFound
from knowledge.people import subscriptions
from knowledge.runtime import Knowledge
from knowledge.text import count_of, row_number
from knowledge.timeutil import utcnow

router = APIRouter()

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _previous_month() -> digest.Month:
    today = utcnow().astimezone(PARIS).date()
    return digest.Month(today.year - 1, 12) if today.month == 1 else \
        digest.Month(today.year, today.month - 1)


def _page(request: Request, db: DbSession, month: digest.Month, *,
          chosen: list[int] | None = None, introduction: str = "", organisations: str = "",
          error: str | None = None, status_code: int = 200) -> HTMLResponse:
    entries = digest.candidates(session=db, month=month)
    published, _ = digest.changed_entry_ids(session=db, month=month)
    findings = {entry.id: digest.entry_findings(entry) for entry in entries}
    figures = digest.figures(session=db, month=month)
    subscribers = len(subscriptions.subscribers(session=db))
    # Only a number travels in the URL, never free text.
    sent = row_number(request.query_params.get("sent"))
    return render(request, "digest.html", {
        "month": month, "entries": entries, "published": published,
        "figure_lines": figures.sentences(), "definitions": activity.DEFINITIONS,
        "entry_count": count_of(len(entries), "fiche publiée ou mise à jour",
                                "fiches publiées ou mises à jour"),
        "subscribers": count_of(subscribers, "demandeur abonné", "demandeurs abonnés"),
        "sent": None if sent is None else count_of(sent, "message", "messages"),
        "findings": {entry_id: found for entry_id, found in findings.items() if found},
        "chosen": set(chosen) if chosen is not None else {entry.id for entry in entries},
        "introduction": introduction, "organisations": organisations == "1",
        "error": error,
    }, status_code=status_code)


@router.get("/digest")
def digest_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """Show the month's candidate entries, all ticked, with the download and send buttons."""
    value = request.query_params.get("month")
    return _page(request, db, digest.Month.parse(value) if value else _previous_month())


def _build(db: DbSession, knowledge: Knowledge, month: str, entry: list[int],
           organisations: str, introduction: str) -> digest.Digest:
    return digest.build(session=db, month=digest.Month.parse(month), entry_ids=entry,
                        show_organisations=organisations == "1", introduction=introduction,
                        names=knowledge.legal_names)


def _refused(request: Request, db: DbSession, built: digest.Digest, entry: list[int],
             organisations: str, introduction: str,
             error: privacy.PersonalDataFound) -> HTMLResponse:
    db.rollback()
    return _page(request, db, built.month, chosen=entry, introduction=introduction,
                 organisations=organisations, error=str(error), status_code=409)


@router.post("/digest/download/{filename}")
def download(request: Request, filename: str, db: DbSession, knowledge: KnowledgeDep,
             user: CurrentUser,
             month: Annotated[str, Form(max_length=7)],
             entry: Annotated[list[int] | None, Form()] = None,
             organisations: Annotated[str, Form()] = "",
             introduction: Annotated[str, Form(max_length=2000)] = "",
             confirm_personal_data: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Download the chosen entries as a Word document or a standalone HTML page."""
    built = _build(db, knowledge, month, entry or [], organisations, introduction)
    if filename not in ("lettre.docx", "lettre.html"):
        raise NotFound("export", filename)
    try:
        digest.check_personal_data(session=db, digest=built,
                                   confirmed=confirm_personal_data == "1",
                                   actor=f"user:{user.login}")
    except privacy.PersonalDataFound as error:
        return _refused(request, db, built, entry or [], organisations, introduction, error)
    name = f"reponses-du-svp-{built.month}"
    if filename == "lettre.docx":
        content, media, name = digest.render_docx(built), DOCX_TYPE, name + ".docx"
    elif filename == "lettre.html":
        content = digest.render_html(built).encode("utf-8")
        media, name = "text/html; charset=utf-8", name + ".html"
    else:
        raise NotFound("export", filename)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/digest/send")
def send(request: Request, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
         month: Annotated[str, Form(max_length=7)],
         entry: Annotated[list[int] | None, Form()] = None,
         organisations: Annotated[str, Form()] = "",
         introduction: Annotated[str, Form(max_length=2000)] = "",
         confirm_personal_data: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Queue the digest for every subscriber not served yet this month."""
    built = _build(db, knowledge, month, entry or [], organisations, introduction)
    try:
        digest.check_personal_data(session=db, digest=built,
                                   confirmed=confirm_personal_data == "1",
                                   actor=f"user:{user.login}")
    except privacy.PersonalDataFound as error:
        return _refused(request, db, built, entry or [], organisations, introduction, error)
    result = subscriptions.broadcast(session=db, digest=built, actor=f"user:{user.login}")
    return redirect(f"/digest?month={built.month}&sent={result.queued}")
