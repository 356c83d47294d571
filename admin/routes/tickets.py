"""The ticket page: thread, suggestions, draft, and the adviser's actions."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response

from admin.pages import redirect, render
from admin.security import ConfigDep, CurrentUser, DbSession, KnowledgeDep, end_read
from knowledge.desk import outbox, review
from knowledge.errors import InvalidInput
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.models import OutboxKind, User

logger = logging.getLogger(__name__)
router = APIRouter()


def _suggestions(knowledge: Knowledge, text: str, k: int) -> tuple[list[SearchHit], str | None]:
    try:
        # Raw ranking: the adviser sees the closest entries even under the abstain threshold.
        return knowledge.similar(text, k=k, min_score=-1.0).hits, None
    except Exception:  # the thread must stay readable when the index is unavailable
        logger.exception("suggestions failed")
        return [], "Les suggestions sont momentanément indisponibles."


def _references(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _ticket_page(request: Request, db: DbSession, knowledge: Knowledge, config: ConfigDep,
                 user: User, ticket_id: int, *, form: dict[str, Any] | None = None,
                 duplicates: list[SearchHit] | None = None, status_code: int = 200
                 ) -> HTMLResponse:
    ticket = review.get_ticket(session=db, ticket_id=ticket_id)
    text = ticket.text
    end_read(db)
    hits, search_error = _suggestions(knowledge, text, config.suggestions_shown)
    ticket = review.get_ticket(session=db, ticket_id=ticket_id)
    best = hits[0] if hits else None
    draft = form or {
        "answer": best.answer if best else "",
        "question": ticket.text,
        "theme": (best.theme if best else None) or ticket.theme or "",
        "references": "",
        "publication": "new",
        "entry_id": str(best.entry_id) if best else "",
    }
    is_open = ticket.status in {s.value for s in review.OPEN_STATUSES}
    mine_or_free = ticket.assigned_to_id in (None, user.id) or user.role == "admin"
    return render(request, "ticket.html", {
        "ticket": ticket,
        "messages": review.thread(session=db, ticket_id=ticket.id),
        # Advisers must see when an answer could not be delivered (e.g. the bot was blocked).
        "deliveries": [message for message in outbox.list_for_ticket(session=db,
                                                                     ticket_id=ticket.id)
                       if message.kind != OutboxKind.NOTIFICATION.value],
        "asker": ticket.asker,
        "organisation": ticket.organisation,
        "assigned_to": ticket.assigned_to,
        "age_days": review.age_in_working_days(ticket),
        "target_days": config.target_delay_days,
        "hits": hits,
        "search_error": search_error,
        "abstain_threshold": knowledge.abstain_threshold,
        "draft": draft,
        "duplicates": duplicates or [],
        "can_act": is_open and mine_or_free,
        "can_clarify": ticket.status in {"new", "in_review"} and mine_or_free,
        "is_open": is_open,
    }, status_code=status_code)


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
                config: ConfigDep, user: CurrentUser) -> HTMLResponse:
    """Show a ticket with its thread, live suggestions and a prefilled draft."""
    return _ticket_page(request, db, knowledge, config, user, ticket_id)


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Assign the ticket to the logged-in adviser."""
    review.assign_to_me(session=db, ticket_id=ticket_id, adviser=user)
    return redirect(f"/tickets/{ticket_id}", "assigned")


@router.post("/tickets/{ticket_id}/clarify")
def clarify(ticket_id: int, db: DbSession, user: CurrentUser,
            message: Annotated[str, Form(max_length=4000)]) -> Response:
    """Ask the asker for details."""
    review.request_clarification(session=db, ticket_id=ticket_id, adviser=user, message=message)
    return redirect(f"/tickets/{ticket_id}", "clarified")


@router.post("/tickets/{ticket_id}/approve")
def approve(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
            config: ConfigDep, user: CurrentUser, background: BackgroundTasks,
            answer: Annotated[str, Form(max_length=200_000)],
            publication: Annotated[str, Form()] = "none",
            question: Annotated[str, Form(max_length=4000)] = "",
            theme: Annotated[str, Form(max_length=200)] = "",
            references: Annotated[str, Form(max_length=20_000)] = "",
            entry_id: Annotated[str, Form()] = "",
            confirm_duplicate: Annotated[str, Form()] = "") -> Response:
    """Send the answer to the asker and, if asked, publish it to the knowledge base."""
    try:
        choice = review.Publication(publication)
    except ValueError:
        raise InvalidInput("Choix de publication inconnu.") from None
    if choice is review.Publication.NEW and confirm_duplicate != "1":
        # Checked before the unit of work writes anything (the search reads on its own).
        duplicates = knowledge.near_duplicates(question or answer, answer,
                                               min_score=config.duplicate_threshold)
        if duplicates:
            form = {"answer": answer, "question": question, "theme": theme,
                    "references": references, "publication": publication,
                    "entry_id": str(duplicates[0].entry_id)}
            return _ticket_page(request, db, knowledge, config, user, ticket_id, form=form,
                                duplicates=duplicates, status_code=409)
    target = None
    if choice is review.Publication.UPDATE:
        if not entry_id.strip().isdigit():
            raise InvalidInput("Choisissez la fiche à mettre à jour.")
        target = int(entry_id)
    review.approve(
        session=db, ticket_id=ticket_id, adviser=user, embedder=knowledge.embedder,
        approval=review.Approval(answer=answer, publication=choice,
                                 question=question or None, theme=theme or None,
                                 legal_references=_references(references), entry_id=target,
                                 review_months=config.review_months))
    # After the commit (which precedes the response), bring this process's index up to date.
    background.add_task(knowledge.sync_index)
    return redirect(f"/tickets/{ticket_id}", "approved")


@router.post("/tickets/{ticket_id}/reject")
def reject(ticket_id: int, db: DbSession, user: CurrentUser,
           message: Annotated[str, Form(max_length=4000)]) -> Response:
    """Close the ticket as out of scope, with a message to the asker."""
    review.reject(session=db, ticket_id=ticket_id, adviser=user, message=message)
    return redirect(f"/tickets/{ticket_id}", "rejected")
