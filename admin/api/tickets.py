"""The review queue through the API: list, read, answer (as the ticket page does), note."""

from __future__ import annotations

import functools
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import JSONResponse

from admin.api.auth import Caller, CurrentCaller, WritingCaller
from admin.api.errors import ErrorBody, duplicate_response
from admin.api.schemas import (
    Answer,
    AnswerOut,
    DeliveryOut,
    HitOut,
    MessageOut,
    Note,
    RowId,
    TicketDetail,
    TicketOut,
    TicketPage,
)
from admin.security import ConfigDep, DbSession, KnowledgeDep, end_read
from knowledge.desk import formatting, notes, outbox, review, tickets
from knowledge.errors import InvalidInput
from knowledge.people import api_tokens, organisations
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.db import MAX_ROW_ID
from knowledge.store.models import OutboxKind, TicketStatus
from knowledge.text import clean

logger = logging.getLogger(__name__)
router = APIRouter(tags=["questions"])

StatusFilter = Literal["open", "all", "new", "in_review", "waiting_asker", "answered",
                       "self_served", "rejected"]


def _statuses(status: StatusFilter) -> tuple[TicketStatus, ...]:
    if status == "open":
        return tickets.OPEN_STATUSES
    if status == "all":
        return ()
    return (TicketStatus(status),)


def _ticket_out(item: review.QueueItem) -> TicketOut:
    ticket = item.ticket
    return TicketOut(
        id=ticket.id, status=ticket.status, text=ticket.text, theme=ticket.theme,
        organisation=ticket.organisation.name if ticket.organisation else None,
        assigned_to=ticket.assigned_to.login if ticket.assigned_to else None,
        entry_id=ticket.entry_id, age_days=item.age_days, badge=item.badge,  # type: ignore[arg-type]
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        answered_at=ticket.answered_at)


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    db: DbSession, config: ConfigDep, caller: CurrentCaller,
    status: Annotated[StatusFilter, Query()] = "open",
    assigned: Annotated[str | None, Query(
        max_length=20, description="me, none, ou le numéro d'un conseiller.")] = None,
    theme: Annotated[str | None, Query(max_length=200)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    departement: Annotated[str | None, Query(max_length=3)] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=review.MAX_MIN_AGE_DAYS)] = None,
    text: Annotated[str | None, Query(max_length=200, description="Mots ou numéro.")] = None,
    feedback: Annotated[Literal["any", "up", "down", "comment"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> TicketPage:
    """List the questions with the queue's filters, oldest first, 50 a page."""
    assigned_to_id: int | None = None
    if assigned not in (None, "", "none", "me"):
        number = assigned.strip()
        if not (number.isascii() and number.isdigit() and 1 <= int(number) <= MAX_ROW_ID):
            raise InvalidInput(f"Filtre « conseiller » invalide : « {assigned} ».")
        assigned_to_id = int(number)
    elif assigned == "me":
        assigned_to_id = caller.user.id
    criteria = review.QueueFilter(
        statuses=_statuses(status), unassigned=assigned == "none",
        assigned_to_id=assigned_to_id, theme=clean(theme or "") or None,
        organisation_id=organisation_id,
        departement=organisations.parse_departement(departement),
        min_age_days=min_age_days, text=clean(text or "") or None, feedback=feedback)
    result = review.queue_page(session=db, criteria=criteria, page=page,
                               target_days=config.target_delay_days)
    return TicketPage(items=[_ticket_out(item) for item in result.items], total=result.total,
                      page=result.page, pages=result.pages)


def _suggestions(knowledge: Knowledge, text: str, k: int) -> tuple[list[SearchHit], str | None]:
    try:
        # Raw ranking, as on the page: the closest entries even under the abstain threshold.
        return knowledge.similar(text, k=k, min_score=-1.0).hits, None
    except Exception:  # the ticket must stay readable when the index is unavailable
        logger.exception("suggestions failed")
        return [], "Les suggestions sont momentanément indisponibles."


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
def get_ticket(ticket_id: RowId, db: DbSession, knowledge: KnowledgeDep, config: ConfigDep,
               caller: CurrentCaller) -> TicketDetail:
    """Read a question: its thread, the messages sent to the asker, the closest entries."""
    text = review.get_ticket(session=db, ticket_id=ticket_id).text
    end_read(db)  # the search reads on its own
    hits, error = _suggestions(knowledge, text, config.suggestions_shown)
    ticket = review.get_ticket(session=db, ticket_id=ticket_id)
    item = review.QueueItem(ticket=ticket, age_days=review.age_in_working_days(ticket),
                            target_days=config.target_delay_days)
    writes = caller.scope is api_tokens.TokenScope.WRITE
    return TicketDetail(
        **_ticket_out(item).model_dump(),
        messages=[MessageOut.model_validate(message)
                  for message in review.thread(session=db, ticket_id=ticket.id)],
        deliveries=[DeliveryOut.model_validate(message)
                    for message in outbox.list_for_ticket(session=db, ticket_id=ticket.id)
                    if message.kind != OutboxKind.NOTIFICATION.value],
        suggestions=[HitOut.model_validate(hit) for hit in hits], suggestions_error=error,
        can_answer=writes and tickets.is_open(ticket) and review.may_work(ticket, caller.user),
        can_note=writes and notes.may_note(ticket, caller.user))


def _signature(config: ConfigDep, caller: Caller) -> str:
    return formatting.signature_for(config.answer_signature, caller.user.display_name)


@router.post("/tickets/{ticket_id}/answer", response_model=AnswerOut, responses={
    409: {"model": ErrorBody, "description": "Doublon possible (code duplicate, avec les "
          "fiches candidates) ou action impossible dans l'état du ticket."}})
def answer_ticket(ticket_id: RowId, body: Answer, db: DbSession, knowledge: KnowledgeDep,
                  config: ConfigDep, caller: WritingCaller,
                  background: BackgroundTasks) -> AnswerOut | JSONResponse:
    """Answer a question: the same rules, duplicate check and outbox message as the page."""
    choice = review.Publication(body.publication)
    approval = review.Approval(
        answer=body.answer, publication=choice, question=body.question or None,
        theme=body.theme or None, legal_references=tuple(body.references),
        entry_id=body.entry_id if choice is review.Publication.UPDATE else None,
        source_entry_id=body.entry_id if choice is review.Publication.NONE else None,
        signature=_signature(config, caller), signature_template=config.answer_signature,
        keep_courtesy=body.keep_courtesy, review_months=config.review_months,
        confirm_personal_data=body.confirm_personal_data)
    if choice is review.Publication.UPDATE and body.entry_id is None:
        raise InvalidInput("Choisissez la fiche à mettre à jour (entry_id).")
    ticket_text = review.get_ticket(session=db, ticket_id=ticket_id).text
    end_read(db)  # the duplicate search reads on its own, before anything is written
    duplicates = review.duplicate_candidates(
        approval, ticket_text=ticket_text, confirmed=body.confirm_duplicate,
        near_duplicates=functools.partial(knowledge.near_duplicates,
                                          min_score=config.duplicate_threshold))
    if duplicates:
        return duplicate_response(duplicates)
    outcome = review.approve(session=db, ticket_id=ticket_id, adviser=caller.user,
                             embedder=knowledge.embedder, approval=approval)
    background.add_task(knowledge.sync_index)
    return AnswerOut(ticket_id=outcome.ticket.id, status=outcome.ticket.status,
                     entry_id=outcome.entry_id, outbox_id=outcome.outbox_id)


@router.post("/tickets/{ticket_id}/note", response_model=MessageOut, status_code=201)
def add_note(ticket_id: RowId, body: Note, db: DbSession,
             caller: WritingCaller) -> MessageOut:
    """Add an internal note to the thread (never sent to the asker)."""
    note = notes.add_note(session=db, ticket_id=ticket_id, adviser=caller.user, text=body.text)
    return MessageOut.model_validate(note)
