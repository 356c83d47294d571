"""Knowledge-base pages: list, semantic search, entry view with history, edit, retire."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import CurrentUser, DbSession, KnowledgeDep, end_read
from knowledge import audit
from knowledge.catalog import entries
from knowledge.retrieval import phrasings
from knowledge.store.models import EntryStatus

router = APIRouter()
PAGE_SIZE = 50


def _actor(user: CurrentUser) -> str:
    return f"user:{user.login}"


@router.get("/kb")
def kb_list(request: Request, db: DbSession, knowledge: KnowledgeDep,
            user: CurrentUser) -> HTMLResponse:
    """List entries (filter by words, theme, status) and run a semantic search."""
    params = request.query_params
    query = (params.get("q") or "").strip()[:1000]
    text = (params.get("text") or "").strip()[:200]
    status = params.get("status", EntryStatus.ACTIVE.value)
    if status not in {"active", "retired", "all"}:
        status = EntryStatus.ACTIVE.value
    try:
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        page = 1
    hits = []
    abstained = False
    if query:
        end_read(db)
        result = knowledge.similar(query, k=10, min_score=-1.0)
        hits = result.hits
        threshold = knowledge.abstain_threshold
        abstained = not hits or (threshold is not None and hits[0].score < threshold)
    criteria = entries.EntryFilter(status=None if status == "all" else status,
                                   theme=params.get("theme") or None, text=text or None)
    total = entries.count_entries(session=db, criteria=criteria)
    listed = entries.list_entries(session=db, criteria=criteria, limit=PAGE_SIZE,
                                  offset=(page - 1) * PAGE_SIZE)
    return render(request, "kb_list.html", {
        "query": query, "hits": hits, "abstained": abstained,
        "abstain_threshold": knowledge.abstain_threshold,
        "text": text, "status": status, "theme": params.get("theme", ""),
        "entries": listed, "total": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    })


@router.get("/kb/{entry_id}")
def kb_entry(request: Request, entry_id: int, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """Show an entry with its revision history."""
    entry = entries.get(session=db, entry_id=entry_id)
    return render(request, "kb_entry.html", {
        "entry": entry,
        "revisions": list(reversed(entries.revisions(session=db, entry_id=entry_id))),
        "events": audit.for_object(session=db, object_type="entry", object_id=entry_id),
        "phrasings": phrasings.list_phrasings(session=db, entry_id=entry_id),
    })


@router.get("/kb/{entry_id}/edit")
def kb_edit_form(request: Request, entry_id: int, db: DbSession,
                 user: CurrentUser) -> HTMLResponse:
    """Show the edit form of an entry."""
    return render(request, "kb_edit.html", {"entry": entries.get(session=db, entry_id=entry_id)})


@router.post("/kb/{entry_id}/edit")
def kb_edit(entry_id: int, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
            background: BackgroundTasks,
            question: Annotated[str, Form(max_length=4000)],
            answer: Annotated[str, Form(max_length=200_000)],
            theme: Annotated[str, Form(max_length=200)] = "",
            references: Annotated[str, Form(max_length=20_000)] = "",
            tags: Annotated[str, Form(max_length=2000)] = "",
            source: Annotated[str, Form(max_length=2000)] = "",
            reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Save a new revision of an entry."""
    current = entries.get(session=db, entry_id=entry_id)
    entries.update(
        session=db, entry_id=entry_id, actor=_actor(user), reason=reason or None,
        embedder=knowledge.embedder,
        content=entries.EntryFields(
            question=question, answer=answer, theme=theme or None,
            legal_references=tuple(r for r in references.splitlines()),
            tags=tuple(t.strip() for t in tags.split(",")), source=source or None,
            review_by=current.review_by, external_id=current.external_id))
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}", "entry_saved")


@router.post("/kb/{entry_id}/retire")
def kb_retire(entry_id: int, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
              background: BackgroundTasks,
              reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Withdraw an entry from suggestions."""
    entries.retire(session=db, entry_id=entry_id, actor=_actor(user), reason=reason or None)
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}", "entry_retired")


@router.post("/kb/{entry_id}/reinstate")
def kb_reinstate(entry_id: int, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
                 background: BackgroundTasks,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Make a retired entry active again."""
    entries.reinstate(session=db, entry_id=entry_id, actor=_actor(user),
                      reason=reason or None)
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}", "entry_reinstated")
