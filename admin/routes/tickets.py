"""The ticket page: thread, suggestions, draft, and the adviser's actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.downloads import checked_files, download
from admin.pages import redirect, render, similarity_words
from admin.routes.privacy import findings_view
from admin.security import ConfigDep, CurrentUser, DbSession, KnowledgeDep, end_read
from knowledge.catalog import themes
from knowledge.desk import (
    attachments,
    citations,
    courtesy,
    drafts,
    formatting,
    heartbeat,
    notes,
    outbox,
    reply_templates,
    review,
    tickets,
)
from knowledge.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from knowledge.people import advisers
from knowledge.retrieval import evidence, passages
from knowledge.runtime import Knowledge, SearchHit
from knowledge.store.models import KnowledgeEntry, OutboxKind, User
from knowledge.text import row_number
from knowledge.timeutil import utcnow
from knowledge.watch import flags as legal_flags
from knowledge.watch.links import reference_links

logger = logging.getLogger(__name__)
router = APIRouter()

# Generous form limits: the services give the precise French message, on the filled form.
_TEXT = 200_000
_ERROR_STATUS = {InvalidInput: 422, Conflict: 409, Forbidden: 403, NotFound: 404}


def _suggestions(knowledge: Knowledge, text: str, k: int) -> tuple[list[SearchHit], str | None]:
    try:
        # Raw ranking: the adviser sees the closest entries even under the abstain threshold.
        return knowledge.similar(text, k=k, min_score=-1.0).hits, None
    except Exception:  # the thread must stay readable when the index is unavailable
        logger.exception("suggestions failed")
        return [], "Les suggestions sont momentanément indisponibles."


def _references(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _signature(config: ConfigDep, user: User) -> str:
    return formatting.signature_for(config.answer_signature, user.display_name)


def _preview(answer: str, references: str, signature: str, template: str) -> dict[str, Any]:
    text = formatting.compose(answer=answer, references=_references(references),
                              signature=signature)
    parts = formatting.render_parts(body=text, formatted=True) if answer.strip() else []
    # What a publication gives the entry: the answer without greeting, closing, signature.
    entry = courtesy.strip_courtesy(answer, signatures=[signature, template])
    return {"chars": len(answer.strip()), "parts": parts, "max": review.MAX_ANSWER_CHARS,
            "entry_html": formatting.to_page_html(entry),
            "entry_changed": bool(answer.strip()) and entry != answer.strip()}


def _marked(hit: SearchHit) -> tuple[str, str, str]:
    """The answer of a suggestion cut around its best passage: before, passage, after."""
    passage = hit.passage
    if passage is None or passage.from_question or not 0 <= passage.start < passage.end:
        return hit.answer, "", ""
    return (hit.answer[:passage.start], hit.answer[passage.start:passage.end],
            hit.answer[passage.end:])


def _status_of(error: DomainError) -> int:
    return next((code for kind, code in _ERROR_STATUS.items() if isinstance(error, kind)), 400)


def _ticket_page(request: Request, db: DbSession, knowledge: Knowledge, config: ConfigDep,
                 user: User, ticket_id: int, *, form: dict[str, Any] | None = None,
                 duplicates: list[SearchHit] | None = None, status_code: int = 200,
                 error: str | None = None, error_at: str | None = None,
                 texts: dict[str, str] | None = None,
                 confirmed_personal_data: bool = False) -> HTMLResponse:
    ticket = review.get_ticket(session=db, ticket_id=ticket_id)
    text = ticket.text
    end_read(db)
    hits, search_error = _suggestions(knowledge, text, config.suggestions_shown)
    ticket = review.get_ticket(session=db, ticket_id=ticket_id)
    threshold = knowledge.abstain_threshold
    refusal = (drafts.refusal_of(ticket, adviser=user)
               if form is None and request.query_params.get("refused") else None)
    if refusal is not None:  # the answer refused before the redirect, and why
        error, error_at = refusal.error, "answer"
    # Without suggestions the model is never asked for (the index may be unavailable).
    evidence_threshold = (evidence.evidence_threshold(knowledge.embedder.model_id) if hits
                          else evidence.FALLBACK_EVIDENCE_THRESHOLD)
    available = citations.citations(session=db, hits=hits, threshold=threshold)
    wanted = request.query_params.getlist("cite")
    chosen = citations.in_order(available, wanted) if wanted else available
    if form is not None:
        draft = drafts.Draft.of(form)
    else:
        draft = drafts.initial_draft(ticket=ticket, hits=hits, threshold=threshold,
                                     evidence_threshold=evidence_threshold,
                                     cited=citations.cited_draft(available))
        if "cite" in request.query_params:  # "Composer le brouillon" without JavaScript
            draft = drafts.Draft(**{**draft.as_form(), "answer": citations.cited_draft(chosen),
                                    "publication": "", "source_entry_id": ""})
        taken = next((h for h in hits if str(h.entry_id) == request.query_params.get("take")),
                     None)
        if taken is not None:  # "Reprendre cette réponse" without JavaScript
            draft = drafts.Draft(**{**draft.as_form(), "answer": taken.answer,
                                    "publication": review.Publication.NONE.value,
                                    "entry_id": str(taken.entry_id),
                                    "source_entry_id": str(taken.entry_id)})
    is_open = tickets.is_open(ticket)
    mine_or_free = review.may_work(ticket, user)
    deliveries = [message for message in outbox.list_for_ticket(session=db, ticket_id=ticket.id)
                  if message.kind != OutboxKind.NOTIFICATION.value]
    signature = _signature(config, user)
    files = attachments.for_ticket(session=db, ticket_id=ticket.id)
    limits = config.attachment_limits
    return render(request, "ticket.html", {
        "ticket": ticket,
        "messages": review.thread(session=db, ticket_id=ticket.id),
        "files": files,
        "files_of": {message_id: [f for f in files if f.ticket_message_id == message_id]
                     for message_id in {f.ticket_message_id for f in files}},
        "file_accept": attachments.ACCEPT_ATTRIBUTE,
        "file_limits": (attachments.megabytes(limits.per_file_bytes),
                        attachments.megabytes(limits.per_message_bytes)),
        # Advisers must see when an answer could not be delivered (e.g. the bot was blocked).
        "deliveries": deliveries,
        "bot": heartbeat.state(session=db),
        "mailer": heartbeat.state(session=db, name=heartbeat.MAIL_DELIVERY),
        "asker": ticket.asker,
        "organisation": ticket.organisation,
        "assigned_to": ticket.assigned_to,
        "age_days": review.age_in_working_days(ticket),
        "target_days": config.target_delay_days,
        "hits": hits,
        "search_error": search_error,
        "abstain_threshold": threshold,
        "similarity": similarity_words(close=knowledge.abstain_threshold,
                                       very_close=config.duplicate_threshold),
        "strengths": {hit.entry_id: evidence.strength(hit, threshold=threshold,
                                                      evidence=evidence_threshold)
                      for hit in hits},
        "strength_labels": evidence.LABELS,
        "marked": {hit.entry_id: _marked(hit) for hit in hits},
        **_hit_references(db, knowledge, hits),
        "shown": passages.shown_texts(hits),
        "citations": available,
        "cited_ids": [citation.entry_id for citation in chosen],
        "draft": draft.as_form(),
        "preview": _preview(draft.answer, draft.references, signature,
                            config.answer_signature),
        "themes": themes.list_themes(session=db),
        "signature": signature,
        "duplicates": duplicates or [],
        "privacy_findings": findings_view({"question": draft.question, "answer": draft.answer}),
        "confirmed_personal_data": confirmed_personal_data,
        # Shown again after a refusal: the publication chosen is the adviser's, not a guess.
        "publication_chosen": form is not None or refusal is not None,
        "can_act": is_open and mine_or_free,
        "can_clarify": ticket.status in {"new", "in_review"} and mine_or_free,
        "can_follow_up": not is_open and ticket.asker is not None,
        "can_note": notes.may_note(ticket, user),
        "is_open": is_open,
        "next_ticket": review.next_ticket(session=db, after=ticket, adviser=user),
        "previous_ticket": review.previous_ticket(session=db, before=ticket, adviser=user),
        "templates": reply_templates.list_templates(session=db),
        "colleagues": [u for u in advisers.list_users(session=db)
                       if u.active and u.id != user.id],
        "error": error,
        "error_at": error_at,
        "texts": texts or {},
    }, status_code=status_code)


def _page_on_error(request: Request, db: DbSession, knowledge: Knowledge, config: ConfigDep,
                   user: User, ticket_id: int, error: DomainError, *, at: str,
                   form: dict[str, Any] | None = None,
                   texts: dict[str, str] | None = None,
                   confirmed_personal_data: bool = False) -> HTMLResponse:
    # Nothing of the failed action is kept, but everything the adviser typed comes back.
    db.rollback()
    return _ticket_page(request, db, knowledge, config, user, ticket_id, form=form,
                        status_code=_status_of(error), error=str(error), error_at=at,
                        texts=texts, confirmed_personal_data=confirmed_personal_data)


def _attempt(request: Request, db: DbSession, knowledge: Knowledge, config: ConfigDep,
             user: User, ticket_id: int, action: Callable[[], object], *, at: str, done: str,
             texts: dict[str, str] | None = None,
             form: dict[str, Any] | None = None) -> Response:
    """Run one adviser action; on a domain error, show the page again with what was typed."""
    try:
        action()
    except DomainError as error:
        return _page_on_error(request, db, knowledge, config, user, ticket_id, error, at=at,
                              form=form, texts=texts)
    return redirect(f"/tickets/{ticket_id}", done)


class AnswerForm(BaseModel):
    """The fields of the answer form (the services check lengths, with French messages)."""

    answer: str = Field("", max_length=_TEXT)
    # Empty until the adviser chooses: a cited draft comes with no choice made for them.
    publication: str = Field("", max_length=16)
    question: str = Field("", max_length=_TEXT)
    theme: str = Field("", max_length=_TEXT)
    references: str = Field("", max_length=_TEXT)
    entry_id: str = Field("", max_length=20)
    source_entry_id: str = Field("", max_length=20)
    keep_courtesy: str = Field("", max_length=4)
    confirm_duplicate: str = Field("", max_length=4)
    confirm_personal_data: str = Field("", max_length=4)
    files_to_entry: str = Field("", max_length=4)

    def draft(self) -> dict[str, str]:
        """The values the page shows back."""
        return self.model_dump(exclude={"confirm_duplicate", "confirm_personal_data",
                                        "files_to_entry"})

    @property
    def personal_data_confirmed(self) -> bool:
        """The adviser ticked "publish the personal data found anyway"."""
        return self.confirm_personal_data == "1"


def _refused(request: Request, db: DbSession, knowledge: Knowledge, config: ConfigDep,
             user: User, ticket_id: int, error: DomainError, *, form: dict[str, Any],
             confirmed_personal_data: bool = False) -> Response:
    """A refused answer: keep the draft and the reason, then back to the ticket's own URL.

    Only a refusal of what was typed (InvalidInput) goes through a redirect, so that a
    reload sends nothing again; a ticket that cannot be worked shows its page at once.
    """
    db.rollback()
    if isinstance(error, InvalidInput):
        try:
            drafts.keep_refused(session=db, ticket_id=ticket_id, adviser=user,
                                draft=drafts.Draft.of(form), error=str(error))
        except DomainError:
            db.rollback()
        else:
            return RedirectResponse(f"/tickets/{ticket_id}?refused=1#h-answer",
                                    status_code=303)
    return _page_on_error(request, db, knowledge, config, user, ticket_id, error,
                          at="answer", form=form,
                          confirmed_personal_data=confirmed_personal_data)


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
                config: ConfigDep, user: CurrentUser) -> HTMLResponse:
    """Show a ticket with its thread, live suggestions and a draft."""
    return _ticket_page(request, db, knowledge, config, user, ticket_id)


@router.get("/tickets/{ticket_id}/files/{file_id}")
def ticket_file(ticket_id: int, file_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Download a file of the ticket (never shown in the browser)."""
    return download(attachments.get(session=db, attachment_id=file_id, ticket_id=ticket_id,
                                    with_data=True))


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Assign the ticket to the logged-in adviser."""
    review.assign_to_me(session=db, ticket_id=ticket_id, adviser=user)
    return redirect(f"/tickets/{ticket_id}", "assigned")


@router.post("/tickets/{ticket_id}/release")
def release(ticket_id: int, db: DbSession, user: CurrentUser) -> Response:
    """Give the ticket back to the queue."""
    notes.release(session=db, ticket_id=ticket_id, adviser=user)
    return redirect(f"/tickets/{ticket_id}", "released")


@router.post("/tickets/{ticket_id}/hand-over")
def hand_over(ticket_id: int, db: DbSession, user: CurrentUser,
              colleague: Annotated[str, Form()]) -> Response:
    """Assign the ticket to a colleague."""
    colleague_id = row_number(colleague)
    if colleague_id is None:
        raise InvalidInput("Choisissez le collègue à qui confier la question.")
    notes.hand_over(session=db, ticket_id=ticket_id, adviser=user, colleague_id=colleague_id)
    return redirect(f"/tickets/{ticket_id}", "handed_over")


@router.post("/tickets/{ticket_id}/clarify")
def clarify(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
            config: ConfigDep, user: CurrentUser,
            message: Annotated[str, Form(max_length=_TEXT)]) -> Response:
    """Ask the asker for details."""
    return _attempt(request, db, knowledge, config, user, ticket_id,
                    lambda: review.request_clarification(session=db, ticket_id=ticket_id,
                                                         adviser=user, message=message),
                    at="clarify", done="clarified", texts={"clarify": message})


@router.post("/tickets/{ticket_id}/note")
def add_note(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
             config: ConfigDep, user: CurrentUser,
             text: Annotated[str, Form(max_length=_TEXT)]) -> Response:
    """Add an internal note (never sent to the asker)."""
    return _attempt(request, db, knowledge, config, user, ticket_id,
                    lambda: notes.add_note(session=db, ticket_id=ticket_id, adviser=user,
                                           text=text),
                    at="note", done="note_added", texts={"note": text})


@router.post("/tickets/{ticket_id}/follow-up")
def follow_up(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
              config: ConfigDep, user: CurrentUser,
              text: Annotated[str, Form(max_length=_TEXT)],
              kind: Annotated[str, Form()] = "follow_up",
              files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    """Send the asker a follow-up or a correction after the answer, with its files."""
    return _attempt(request, db, knowledge, config, user, ticket_id,
                    lambda: notes.send_follow_up(
                        session=db, ticket_id=ticket_id, adviser=user, text=text,
                        correction=kind == "correction", signature=_signature(config, user),
                        files=checked_files(files, config.attachment_limits)),
                    at="follow-up", done="follow_up", texts={"follow_up": text})


@router.post("/tickets/{ticket_id}/draft")
def save_draft(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
               config: ConfigDep, user: CurrentUser,
               form: Annotated[AnswerForm, Form()]) -> Response:
    """Keep the draft on the ticket without sending anything."""
    try:
        drafts.save(session=db, ticket_id=ticket_id, adviser=user,
                    draft=drafts.Draft.of(form.draft()))
    except DomainError as error:
        return _refused(request, db, knowledge, config, user, ticket_id, error,
                        form=form.draft())
    return redirect(f"/tickets/{ticket_id}", "draft_saved")


@router.post("/tickets/{ticket_id}/preview")
def preview(ticket_id: int, db: DbSession, config: ConfigDep, user: CurrentUser,
            answer: Annotated[str, Form(max_length=_TEXT)] = "",
            references: Annotated[str, Form(max_length=_TEXT)] = "") -> JSONResponse:
    """The answer as the asker will see it in Telegram: HTML parts and counts."""
    review.get_ticket(session=db, ticket_id=ticket_id)  # a 404 for a ticket that is not there
    return JSONResponse(_preview(answer, references, _signature(config, user),
                                 config.answer_signature))


def _near_duplicates(knowledge: Knowledge,
                     config: ConfigDep) -> Callable[[str, str], list[SearchHit]]:
    return lambda question, answer: knowledge.near_duplicates(
        question, answer, min_score=config.duplicate_threshold)


def _int_or_none(value: str, what: str) -> int | None:
    if not value.strip():
        return None
    number = row_number(value)
    if number is None:
        raise InvalidInput(f"{what} invalide.")
    return number


@router.post("/tickets/{ticket_id}/approve")
def approve(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
            config: ConfigDep, user: CurrentUser, background: BackgroundTasks,
            answer_form: Annotated[AnswerForm, Form()],
            files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    """Send the answer (and its files) to the asker and, if asked, publish it."""
    form = answer_form.draft()
    answer, publication, question = form["answer"], form["publication"], form["question"]
    theme, references, entry_id = form["theme"], form["references"], form["entry_id"]
    source_entry_id = form["source_entry_id"]
    try:
        if not publication:
            raise InvalidInput("Choisissez ce que devient la réponse dans la base de "
                               "connaissances : l'envoyer sans publier, mettre à jour une "
                               "fiche ou publier une nouvelle fiche.")
        try:
            choice = review.Publication(publication)
        except ValueError:
            raise InvalidInput("Choix de publication inconnu.") from None
        if choice is review.Publication.NEW and answer_form.confirm_duplicate != "1":
            ticket_text = review.get_ticket(session=db, ticket_id=ticket_id).text
            end_read(db)  # the search reads on its own, before the unit of work writes
            duplicates = review.duplicate_candidates(
                review.Approval(answer=answer, publication=choice, question=question or None),
                ticket_text=ticket_text, confirmed=False,
                near_duplicates=_near_duplicates(knowledge, config))
            if duplicates:
                form["entry_id"] = str(duplicates[0].entry_id)
                return _ticket_page(
                    request, db, knowledge, config, user, ticket_id, form=form,
                    duplicates=duplicates, status_code=409,
                    confirmed_personal_data=answer_form.personal_data_confirmed)
        target = None
        if choice is review.Publication.UPDATE:
            target = _int_or_none(entry_id, "Fiche à mettre à jour")
            if target is None:
                raise InvalidInput("Choisissez la fiche à mettre à jour.")
        source = (_int_or_none(source_entry_id, "Fiche d'origine")
                  if choice is review.Publication.NONE else None)
        # Checked before anything is written: a refused file sends nothing at all.
        sent_files = checked_files(files, config.attachment_limits)
        review.approve(
            session=db, ticket_id=ticket_id, adviser=user, embedder=knowledge.embedder,
            approval=review.Approval(answer=answer, publication=choice,
                                     question=question or None, theme=theme or None,
                                     legal_references=_references(references),
                                     entry_id=target, source_entry_id=source,
                                     signature=_signature(config, user),
                                     signature_template=config.answer_signature,
                                     keep_courtesy=answer_form.keep_courtesy == "1",
                                     review_months=config.review_months,
                                     confirm_personal_data=answer_form.personal_data_confirmed,
                                     files=sent_files,
                                     files_to_entry=answer_form.files_to_entry == "1"))
    except DomainError as error:
        return _refused(request, db, knowledge, config, user, ticket_id, error, form=form,
                        confirmed_personal_data=answer_form.personal_data_confirmed)
    # After the commit (which precedes the response), bring this process's index up to date.
    background.add_task(knowledge.sync_index)
    return redirect(f"/tickets/{ticket_id}", "approved")


@router.post("/tickets/{ticket_id}/reject")
def reject(request: Request, ticket_id: int, db: DbSession, knowledge: KnowledgeDep,
           config: ConfigDep, user: CurrentUser,
           message: Annotated[str, Form(max_length=_TEXT)]) -> Response:
    """Close the ticket as out of scope, with a message to the asker."""
    return _attempt(request, db, knowledge, config, user, ticket_id,
                    lambda: review.reject(session=db, ticket_id=ticket_id, adviser=user,
                                          message=message),
                    at="reject", done="rejected", texts={"reject": message})


def _hit_references(db: DbSession, knowledge: Knowledge, hits: list[SearchHit]
                    ) -> dict[str, object]:
    """Each similar entry's references linked to Légifrance, and the changes of those texts."""
    found = {entry.id: entry for entry in db.scalars(
        select(KnowledgeEntry).where(KnowledgeEntry.id.in_([hit.entry_id for hit in hits])))}
    today = utcnow().date()
    return {
        "hit_references": {
            entry_id: reference_links(session=db, items=entry.legal_references or [],
                                      names=knowledge.legal_names, today=today)
            for entry_id, entry in found.items()},
        "hit_flags": {entry_id: legal_flags.open_flags(session=db, entry_id=entry_id)
                      for entry_id in found},
    }
