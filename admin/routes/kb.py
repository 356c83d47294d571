"""Knowledge-base pages: list, semantic search, entry with history and diffs, edit, retire,
review check, corrections to askers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.downloads import download
from admin.pages import redirect, render, similarity_words
from admin.routes.privacy import findings_view
from admin.security import ConfigDep, CurrentUser, DbSession, KnowledgeDep, end_read
from knowledge import privacy
from knowledge.catalog import entries, history, personal_data, reviews, themes, usage
from knowledge.desk import attachments, corrections
from knowledge.errors import InvalidInput
from knowledge.retrieval import phrasings
from knowledge.store.models import EntryStatus, Ticket
from knowledge.timeutil import utcnow
from knowledge.watch import flags as legal_flags
from knowledge.watch.links import reference_links, suggested_references

router = APIRouter()
PAGE_SIZE = 50


def _actor(user: CurrentUser) -> str:
    return f"user:{user.login}"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@router.get("/kb")
def kb_list(request: Request, db: DbSession, knowledge: KnowledgeDep, config: ConfigDep,
            user: CurrentUser) -> HTMLResponse:
    """List entries (filter by words, theme, status; sort by usage) and run a semantic search."""
    params = request.query_params
    query = (params.get("q") or "").strip()[:1000]
    text = (params.get("text") or "").strip()[:200]
    theme = (params.get("theme") or "").strip()[:200]
    status = params.get("status", EntryStatus.ACTIVE.value)
    if status not in {"active", "retired", "all"}:
        status = EntryStatus.ACTIVE.value
    sort = params.get("sort", usage.UsageSort.ID.value)
    order = usage.UsageSort(sort) if sort in set(usage.UsageSort) else usage.UsageSort.ID
    page = max(_int(params.get("page"), 1), 1)
    hits = []
    abstained = False
    if query:
        end_read(db)
        result = knowledge.similar(query, k=10, min_score=-1.0)
        hits = result.hits
        threshold = knowledge.abstain_threshold
        abstained = not hits or (threshold is not None and hits[0].score < threshold)
    criteria = entries.EntryFilter(status=None if status == "all" else status,
                                   theme=theme or None, text=text or None)
    matching = entries.list_entries(session=db, criteria=criteria)
    counts = usage.usage(session=db, entry_ids=[entry.id for entry in matching])
    by_id = {entry.id: entry for entry in matching}
    ordered = usage.sort_ids(list(by_id), counts, order)
    total = len(ordered)
    shown = [by_id[entry_id] for entry_id in ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    return render(request, "kb_list.html", {
        "query": query, "hits": hits, "abstained": abstained,
        "abstain_threshold": knowledge.abstain_threshold,
        "similarity": similarity_words(close=knowledge.abstain_threshold,
                                       very_close=config.duplicate_threshold),
        "text": text, "status": status, "theme": theme, "sort": order.value,
        "sort_labels": usage.USAGE_SORT_LABELS, "themes": themes.list_themes(session=db),
        "entries": shown, "usage": counts, "total": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "due_count": len(reviews.due(session=db, today=utcnow().date(),
                                     include_undated=False)),
    })


@router.get("/kb/{entry_id}")
def kb_entry(request: Request, entry_id: int, db: DbSession, config: ConfigDep,
             knowledge: KnowledgeDep, user: CurrentUser) -> HTMLResponse:
    """Show an entry: its text, review date, usage, history, and who to send a correction."""
    entry = entries.get(session=db, entry_id=entry_id)
    items = history.history(session=db, entry_id=entry_id)
    counts = usage.usage(session=db, entry_ids=[entry_id])[entry_id]
    answered = [db.get(Ticket, ticket_id) for ticket_id in counts.ticket_ids]
    correction = corrections.state(session=db, entry_id=entry_id)
    today = utcnow().date()
    # Old revisions holding personal data need a confirmation to be restored.
    restorable = {item.revision.revision: item.revision for item in items
                  if item.revision is not None and item.revision.revision != entry.revision}
    return render(request, "kb_entry.html", {
        "entry": entry, "history": list(reversed(items)),
        "reference_links": reference_links(session=db, items=entry.legal_references or [],
                                           names=knowledge.legal_names, today=today),
        "legal_flags": legal_flags.details(
            session=db, flags=legal_flags.open_flags(session=db, entry_id=entry_id)),
        "documents": attachments.for_entry(session=db, entry_id=entry_id),
        "revision_findings": {
            number: sorted({f.label for f in privacy.scan(old.question) + privacy.scan(old.answer)})
            for number, old in restorable.items()},
        "revision_numbers": list(range(1, entry.revision + 1)),
        "usage": counts, "answered": [t for t in answered if t is not None],
        "origin": db.get(Ticket, entry.origin_ticket_id) if entry.origin_ticket_id else None,
        "correction": correction,
        "phrasings": phrasings.list_phrasings(session=db, entry_id=entry_id),
        "correction_message": corrections.default_message(session=db, entry_id=entry_id),
        "overdue": reviews.is_overdue(entry, today), "today": today,
        "review_choices": reviews.REVIEW_CHOICE_LABELS,
        "review_months": config.review_months,
        "reviewed_by": history.actor_name(entry.reviewed_by,
                                          history.display_names(session=db))
        if entry.reviewed_by else None,
    })


@router.get("/kb/{entry_id}/files/{file_id}")
def kb_file(entry_id: int, file_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Download a document of the entry (never shown in the browser)."""
    return download(attachments.get(session=db, attachment_id=file_id, entry_id=entry_id,
                                    with_data=True))


@router.get("/kb/{entry_id}/diff")
def kb_diff(request: Request, entry_id: int, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """Compare two revisions of an entry, word by word."""
    entry = entries.get(session=db, entry_id=entry_id)
    older = _int(request.query_params.get("a"), max(entry.revision - 1, 1))
    newer = _int(request.query_params.get("b"), entry.revision)
    if older > newer:
        older, newer = newer, older
    found = history.diff(session=db, entry_id=entry_id, older=older, newer=newer)
    names = history.display_names(session=db)
    return render(request, "kb_diff.html", {
        "entry": entry, "diff": found, "revision_numbers": list(range(1, entry.revision + 1)),
        "older_by": history.actor_name(found.older.actor, names),
        "newer_by": history.actor_name(found.newer.actor, names),
    })


@router.get("/kb/{entry_id}/edit")
def kb_edit_form(request: Request, entry_id: int, db: DbSession, knowledge: KnowledgeDep,
                 user: CurrentUser) -> HTMLResponse:
    """Show the edit form of an entry."""
    entry = entries.get(session=db, entry_id=entry_id)
    return render(request, "kb_edit.html", {
        "entry": entry, "themes": themes.list_themes(session=db), "form": None,
        "suggested_references": suggested_references(
            answer=entry.answer, items=entry.legal_references or [],
            names=knowledge.legal_names),
        "privacy_findings": findings_view({"question": entry.question,
                                           "answer": entry.answer})})


@router.post("/kb/{entry_id}/edit")
def kb_edit(request: Request, entry_id: int, db: DbSession, knowledge: KnowledgeDep,
            user: CurrentUser,
            background: BackgroundTasks,
            question: Annotated[str, Form(max_length=4000)],
            answer: Annotated[str, Form(max_length=200_000)],
            theme: Annotated[str, Form(max_length=200)] = "",
            references: Annotated[str, Form(max_length=20_000)] = "",
            tags: Annotated[str, Form(max_length=2000)] = "",
            source: Annotated[str, Form(max_length=2000)] = "",
            review_by: Annotated[str, Form(max_length=10)] = "",
            minor: Annotated[str, Form(max_length=5)] = "",
            reason: Annotated[str, Form(max_length=500)] = "",
            confirm_personal_data: Annotated[str, Form(max_length=4)] = "",
            suggested_reference: Annotated[list[str] | None, Form(max_length=300)] = None,
            ) -> Response:
    """Save a new revision of an entry (with the suggested references the adviser ticked)."""
    current = entries.get(session=db, entry_id=entry_id)
    # References found in the answer become the entry's once the adviser confirms them.
    confirmed = [item.strip() for item in (suggested_reference or [])[:50] if item.strip()]
    if confirmed:
        references = "\n".join([*references.splitlines(), *confirmed])
    try:
        # Chosen from the list, whatever the browser sent; the entry's own theme may stay.
        theme = themes.known(session=db, name=theme, current=current.theme) or ""
        # Scanned again here whatever the page showed: the browser is not trusted.
        personal_data.check(session=db, texts=(question, answer),
                            confirmed=confirm_personal_data == "1", actor=_actor(user),
                            object_type="entry", object_id=entry_id)
    except (privacy.PersonalDataFound, themes.UnknownTheme) as error:
        form = {"question": question, "answer": answer, "theme": theme,
                "references": references, "tags": tags, "source": source,
                "review_by": review_by, "minor": minor, "reason": reason}
        return render(request, "kb_edit.html", {
            "entry": current, "themes": themes.list_themes(session=db), "form": form,
            "suggested_references": suggested_references(
                answer=answer, items=references.splitlines(), names=knowledge.legal_names),
            "error": str(error), "error_at": "theme" if isinstance(
                error, themes.UnknownTheme) else "privacy",
            "privacy_findings": findings_view({"question": question, "answer": answer})},
            status_code=422 if isinstance(error, themes.UnknownTheme) else 409)
    entries.update(
        session=db, entry_id=entry_id, actor=_actor(user), reason=reason or None,
        embedder=knowledge.embedder, minor=bool(minor),
        content=entries.EntryFields(
            question=question, answer=answer, theme=theme or None,
            legal_references=tuple(r for r in references.splitlines()),
            tags=tuple(t.strip() for t in tags.split(",")), source=source or None,
            review_by=_date(review_by) or current.review_by, external_id=current.external_id))
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}", "entry_saved")


def _date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"Date invalide « {value} » (attendu AAAA-MM-JJ).") from None


@router.post("/kb/{entry_id}/restore")
def kb_restore(entry_id: int, db: DbSession, knowledge: KnowledgeDep, user: CurrentUser,
               background: BackgroundTasks, revision: Annotated[int, Form()],
               confirm_personal_data: Annotated[str, Form(max_length=4)] = "") -> Response:
    """Make an old revision the current text, as a new revision."""
    history.restore(session=db, entry_id=entry_id, number=revision, actor=_actor(user),
                    embedder=knowledge.embedder,
                    confirm_personal_data=confirm_personal_data == "1")
    background.add_task(knowledge.sync_index)
    return redirect(f"/kb/{entry_id}", "entry_restored")


@router.post("/kb/{entry_id}/verify")
def kb_verify(entry_id: int, db: DbSession, config: ConfigDep, user: CurrentUser,
              choice: Annotated[str, Form(max_length=20)] = reviews.ReviewChoice.PERIOD.value,
              until: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Record that the entry is still right and set its next review date."""
    if choice not in set(reviews.ReviewChoice):
        raise InvalidInput("Choix de date inconnu.")
    next_date = reviews.next_review_date(reviews.ReviewChoice(choice), today=utcnow().date(),
                                         months=config.review_months, chosen=_date(until))
    reviews.mark_verified(session=db, entry_id=entry_id, actor=_actor(user), until=next_date)
    return redirect(f"/kb/{entry_id}", "entry_verified")


@router.post("/kb/{entry_id}/corrections")
def kb_send_corrections(entry_id: int, db: DbSession, user: CurrentUser,
                        message: Annotated[str, Form(max_length=4000)]) -> Response:
    """Send the correction to every asker concerned, through the outbox."""
    corrections.send(session=db, entry_id=entry_id, actor=_actor(user), message=message)
    return redirect(f"/kb/{entry_id}", "corrections_sent")


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
