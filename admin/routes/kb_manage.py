"""Knowledge-base upkeep pages: entries to review, themes, import with a dry run, exports."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete

from admin.pages import redirect, render
from admin.security import CurrentAdmin, CurrentUser, DbSession, KnowledgeDep
from knowledge.catalog import exporting, importing, reviews, themes, usage
from knowledge.catalog.tabular import FileFormat
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.catalog_models import ImportUpload
from knowledge.timeutil import utcnow
from knowledge.watch import flags as legal_flags

router = APIRouter()
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_LIFETIME = timedelta(hours=6)
_MEDIA_TYPES = {
    FileFormat.JSONL: "application/x-ndjson; charset=utf-8",
    FileFormat.CSV: "text/csv; charset=utf-8",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _actor(user: CurrentUser) -> str:
    return f"user:{user.login}"


@router.get("/kb/due")
def kb_due(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """Entries to check again: those citing a changed text first, then overdue ones."""
    today = utcnow().date()
    due = reviews.due(session=db, today=today)
    flagged = legal_flags.flagged_entries(session=db)
    return render(request, "kb_due.html", {
        "due": due, "today": today, "horizon": reviews.DUE_HORIZON_DAYS, "flagged": flagged,
        "usage": usage.usage(session=db, entry_ids=[entry.id for entry in due]),
        "overdue": {entry.id for entry in due if reviews.is_overdue(entry, today)},
    })


@router.get("/kb/themes")
def kb_themes(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """The managed list of themes with their number of entries."""
    return render(request, "kb_themes.html", {"themes": themes.list_themes(session=db),
                                              "counts": themes.entry_counts(session=db)})


@router.post("/kb/themes")
def kb_theme_add(request: Request, db: DbSession, user: CurrentAdmin,
                 name: Annotated[str, Form(max_length=200)],
                 confirm_similar: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Add a theme to the list (administrators), after a warning if it reads like another."""
    try:
        themes.add(session=db, name=name, actor=_actor(user),
                   confirm_similar=confirm_similar == "1")
    except themes.SimilarThemes as warning:
        return render(request, "kb_themes.html", {
            "themes": themes.list_themes(session=db), "counts": themes.entry_counts(session=db),
            "similar": warning.similar, "warning": str(warning), "new_name": name},
            status_code=409)
    return redirect("/kb/themes", "theme_added")


@router.post("/kb/themes/{theme_id}/rename")
def kb_theme_rename(theme_id: int, db: DbSession, user: CurrentUser,
                    name: Annotated[str, Form(max_length=200)]) -> Response:
    """Rename a theme and the entries filed under it."""
    themes.rename(session=db, theme_id=theme_id, name=name, actor=_actor(user))
    return redirect("/kb/themes", "theme_renamed")


@router.post("/kb/themes/merge")
def kb_theme_merge(db: DbSession, user: CurrentUser, source: Annotated[int, Form()],
                   target: Annotated[int, Form()]) -> Response:
    """Move the entries of one theme to another and drop the first."""
    themes.merge(session=db, source_id=source, target_id=target, actor=_actor(user))
    return redirect("/kb/themes", "theme_merged")


@router.get("/kb/import")
def kb_import_form(request: Request, user: CurrentUser) -> HTMLResponse:
    """The upload form of the import."""
    return render(request, "kb_import.html", {"report": None})


def _report_context(report: importing.ImportReport) -> dict[str, object]:
    summary, problems = importing.report_lines(report)
    return {"report": report, "summary": summary, "problems": problems}


@router.post("/kb/import")
def kb_import_check(request: Request, db: DbSession, user: CurrentUser,
                          file: UploadFile,
                          fmt: Annotated[str, Form(max_length=8)] = "auto",
                          strict: Annotated[str, Form(max_length=5)] = "",
                          allow_personal_data: Annotated[str, Form(max_length=5)] = ""
                          ) -> HTMLResponse:
    """Check an uploaded file with a dry run: the report, and nothing written yet."""
    # A plain function (run in a worker thread): the dry run must not block the event loop.
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"Le fichier dépasse {MAX_UPLOAD_BYTES // (1024 * 1024)} Mo : "
                           "importez-le avec « svp kb import ».")
    if not data:
        raise InvalidInput("Le fichier est vide.")
    filename = (file.filename or "fichier").rsplit("/", 1)[-1][:300]
    chosen = FileFormat(fmt) if fmt in set(FileFormat) else None
    report = importing.import_data(session=db, data=data, filename=filename, fmt=chosen,
                                   strict=bool(strict), actor=_actor(user), dry_run=True,
                                   allow_personal_data=bool(allow_personal_data))
    # Uploads left unconfirmed are dropped after a while.
    db.execute(delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_LIFETIME))
    token = secrets.token_urlsafe(24)
    writes = (report.created or report.updated) and not report.aborted
    if writes:
        db.add(ImportUpload(id=token, user_id=user.id, filename=filename,
                            fmt=chosen.value if chosen else None, data=data,
                            created_at=utcnow()))
    return render(request, "kb_import.html", {**_report_context(report),
                                              "token": token if writes else None,
                                              "strict": bool(strict),
                                              "allow_personal_data": bool(allow_personal_data)})


@router.post("/kb/import/{token}")
def kb_import_confirm(request: Request, token: str, db: DbSession, knowledge: KnowledgeDep,
                      user: CurrentUser, background: BackgroundTasks,
                      strict: Annotated[str, Form(max_length=5)] = "",
                      allow_personal_data: Annotated[str, Form(max_length=5)] = ""
                      ) -> HTMLResponse:
    """Import a file checked by a dry run."""
    upload = db.get(ImportUpload, token)
    if upload is None or upload.user_id != user.id:
        raise NotFound("import", token)
    report = importing.import_data(
        session=db, data=upload.data, filename=upload.filename,
        fmt=FileFormat(upload.fmt) if upload.fmt else None, strict=bool(strict),
        actor=_actor(user), embedder=knowledge.embedder,
        allow_personal_data=bool(allow_personal_data))
    db.delete(upload)
    background.add_task(knowledge.sync_index)
    return render(request, "kb_import.html", {**_report_context(report), "token": None,
                                              "done": True})


@router.get("/kb/export")
def kb_export(db: DbSession, user: CurrentUser, format: str = "jsonl",
              status: str = "all") -> Response:
    """Download every entry (or one status) as JSONL, CSV or XLSX."""
    if format not in set(FileFormat):
        raise InvalidInput("Format inconnu : choisissez JSONL, CSV ou XLSX.")
    if status not in {"all", "active", "retired"}:
        raise InvalidInput("État inconnu.")
    fmt = FileFormat(format)
    out = io.BytesIO()
    exporting.export_entries(session=db, out=out, fmt=fmt,
                             status=None if status == "all" else status)
    name = f"fiches-{utcnow().date().isoformat()}.{fmt.value}"
    return Response(out.getvalue(), media_type=_MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
