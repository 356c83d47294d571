"""Glossary pages (list, add, edit, delete, what a query expands to) and learnt phrasings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession, KnowledgeDep, end_read
from knowledge.errors import Conflict, InvalidInput
from knowledge.retrieval import glossary, phrasings
from knowledge.text import fold

router = APIRouter()


def _actor(user: CurrentUser) -> str:
    return f"user:{user.login}"


def _record(term: str, synonyms: str, note: str) -> glossary.GlossaryRecord:
    # One equivalent per line; semicolons are accepted too, as people paste lists.
    forms = [form for line in synonyms.splitlines() for form in line.split(";")]
    return glossary.checked(term=term, synonyms=forms, note=note)


@router.get("/glossary")
def glossary_list(request: Request, db: DbSession, knowledge: KnowledgeDep,
                  user: CurrentUser) -> HTMLResponse:
    """List the glossary (filtered by words) and show what a query expands to."""
    params = request.query_params
    text = (params.get("text") or "").strip()[:200]
    preview = (params.get("preview") or "").strip()[:1000]
    rows = glossary.list_terms(session=db)
    if text:
        key = fold(text)
        rows = [row for row in rows if key in row.term_key or key in fold(row.synonyms)]
    terms = [(row, glossary.synonyms_of(row)) for row in rows]
    end_read(db)
    expansion = knowledge.expand(preview) if preview else None
    return render(request, "glossary.html", {
        "terms": terms, "text": text, "preview": preview, "expansion": expansion,
    })


@router.get("/glossary/new")
def glossary_new_form(request: Request, user: CurrentUser) -> HTMLResponse:
    """Show the form of a new term."""
    return render(request, "glossary_edit.html", {"row": None, "term": "", "synonyms": "",
                                                  "note": "", "error": None})


@router.post("/glossary/new")
def glossary_create(request: Request, db: DbSession, user: CurrentUser,
                    term: Annotated[str, Form(max_length=400)] = "",
                    synonyms: Annotated[str, Form(max_length=20_000)] = "",
                    note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Add a term to the glossary."""
    try:
        row = glossary.create_term(session=db, record=_record(term, synonyms, note),
                                   actor=_actor(user))
    except (InvalidInput, Conflict) as error:
        return render(request, "glossary_edit.html", {
            "row": None, "term": term, "synonyms": synonyms, "note": note,
            "error": str(error)}, status_code=422)
    return redirect(f"/glossary?text={row.term_key}", "term_saved")


@router.get("/glossary/{term_id}/edit")
def glossary_edit_form(request: Request, term_id: int, db: DbSession,
                       user: CurrentUser) -> HTMLResponse:
    """Show the edit form of a term."""
    row = glossary.get_term(session=db, term_id=term_id)
    return render(request, "glossary_edit.html", {
        "row": row, "term": row.term, "synonyms": "\n".join(glossary.synonyms_of(row)),
        "note": row.note or "", "error": None})


@router.post("/glossary/{term_id}/edit")
def glossary_edit(request: Request, term_id: int, db: DbSession, user: CurrentUser,
                  term: Annotated[str, Form(max_length=400)] = "",
                  synonyms: Annotated[str, Form(max_length=20_000)] = "",
                  note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Save a term's changes."""
    row = glossary.get_term(session=db, term_id=term_id)
    try:
        glossary.update_term(session=db, term_id=term_id, record=_record(term, synonyms, note),
                             actor=_actor(user))
    except (InvalidInput, Conflict) as error:
        return render(request, "glossary_edit.html", {
            "row": row, "term": term, "synonyms": synonyms, "note": note,
            "error": str(error)}, status_code=422)
    return redirect(f"/glossary?text={row.term_key}", "term_saved")


@router.post("/glossary/{term_id}/delete")
def glossary_delete(term_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Remove a term from the glossary."""
    glossary.delete_term(session=db, term_id=term_id, actor=_actor(user))
    return redirect("/glossary", "term_deleted")


@router.post("/kb/{entry_id}/phrasings")
def phrasing_add(entry_id: int, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
                 background: BackgroundTasks,
                 text: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Add a phrasing to an entry by hand."""
    phrasings.add_phrasing(session=db, entry_id=entry_id, text=text, actor=_actor(user),
                           embedder=knowledge.embedder)
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}#formulations", "phrasing_added")


@router.post("/kb/{entry_id}/phrasings/{phrasing_id}/delete")
def phrasing_delete(entry_id: int, phrasing_id: int, db: DbSession, knowledge: KnowledgeDep,
                    user: CurrentUser, background: BackgroundTasks) -> Response:
    """Remove a learnt phrasing: the search forgets it."""
    phrasings.remove_phrasing(session=db, phrasing_id=phrasing_id, actor=_actor(user),
                              entry_id=entry_id)
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}#formulations", "phrasing_removed")
