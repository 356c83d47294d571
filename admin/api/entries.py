"""Knowledge-base entries through the API: list with a cursor, read, create, revise, retire."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import JSONResponse

from admin.api.auth import CurrentCaller, WritingCaller
from admin.api.errors import ErrorBody, duplicate_response
from admin.api.schemas import (
    EntryChange,
    EntryCreate,
    EntryDetail,
    EntryOut,
    EntryPage,
    LegalFlagOut,
    PhrasingOut,
    ReferenceOut,
    Retirement,
    RevisionOut,
    RowId,
)
from admin.security import ConfigDep, DbSession, KnowledgeDep
from knowledge.catalog import entries, personal_data, themes
from knowledge.errors import InvalidInput
from knowledge.retrieval import phrasings
from knowledge.runtime import Knowledge
from knowledge.store.db import MAX_ROW_ID
from knowledge.store.models import KnowledgeEntry
from knowledge.text import clean
from knowledge.timeutil import as_utc, utcnow
from knowledge.watch import flags as legal_flags
from knowledge.watch.links import reference_links

router = APIRouter(tags=["fiches"])
MAX_PAGE = 200


def encode_cursor(after_id: int) -> str:
    """The opaque cursor of the page that follows an entry id."""
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry id a cursor continues after; InvalidInput when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = value["after"]
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        raise InvalidInput("Curseur invalide : reprenez la liste depuis le début.") from None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ROW_ID:
        raise InvalidInput("Curseur invalide : reprenez la liste depuis le début.")
    return after


def _detail(db: DbSession, entry: KnowledgeEntry, knowledge: Knowledge) -> EntryDetail:
    links = reference_links(session=db, items=entry.legal_references or [],
                            names=knowledge.legal_names, today=utcnow().date())
    return EntryDetail(
        **EntryOut.model_validate(entry).model_dump(),
        references=[ReferenceOut(text=link.text, label=link.label, url=link.url)
                    for link in links],
        legal_flags=[LegalFlagOut(reference=flag.reference, reason=flag.reason,
                                  effective_on=flag.effective_on, created_at=flag.created_at)
                     for flag in legal_flags.open_flags(session=db, entry_id=entry.id)],
        revisions=[RevisionOut.model_validate(revision)
                   for revision in entries.revisions(session=db, entry_id=entry.id)],
        phrasings=[PhrasingOut.model_validate(phrasing)
                   for phrasing in phrasings.list_phrasings(session=db, entry_id=entry.id)])


@router.get("/entries", response_model=EntryPage)
def list_entries(
    db: DbSession, caller: CurrentCaller,
    theme: Annotated[str | None, Query(max_length=200, description="Thème (casse et accents "
                                       "ignorés).")] = None,
    status: Annotated[Literal["active", "retired", "all"], Query()] = "active",
    text: Annotated[str | None, Query(max_length=200, description="Mots de la question ou "
                                      "de la réponse.")] = None,
    updated_since: Annotated[datetime | None, Query(
        description="Fiches modifiées depuis cet instant (ISO 8601 ; sans fuseau : UTC).")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> EntryPage:
    """List entries by id, a page at a time (the cursor of the next page is returned)."""
    criteria = entries.EntryFilter(
        status=None if status == "all" else status, theme=clean(theme or "") or None,
        text=clean(text or "") or None,
        updated_since=as_utc(updated_since) if updated_since else None,
        after_id=decode_cursor(cursor) if cursor else None)
    found = entries.list_entries(session=db, criteria=criteria, limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return EntryPage(items=[EntryOut.model_validate(entry) for entry in page],
                     next_cursor=encode_cursor(page[-1].id) if more else None)


@router.get("/themes", response_model=list[str])
def list_themes(db: DbSession, caller: CurrentCaller) -> list[str]:
    """The themes an entry or an answer may be filed under (the managed list)."""
    return [theme.name for theme in themes.list_themes(session=db)]


@router.get("/entries/{entry_id}", response_model=EntryDetail)
def get_entry(entry_id: RowId, db: DbSession, knowledge: KnowledgeDep,
              caller: CurrentCaller) -> EntryDetail:
    """Read an entry with its revisions, learnt phrasings, linked references and flags."""
    return _detail(db, entries.get(session=db, entry_id=entry_id), knowledge)


@router.post("/entries", response_model=EntryDetail, status_code=201, responses={
    409: {"model": ErrorBody, "description": "Doublon possible (code duplicate, avec les "
          "fiches candidates) ou identifiant externe déjà pris."}})
def create_entry(body: EntryCreate, db: DbSession, knowledge: KnowledgeDep, config: ConfigDep,
                 caller: WritingCaller,
                 background: BackgroundTasks) -> EntryDetail | JSONResponse:
    """Create an active entry (embedded at once, searchable after the commit).

    As when an answer is published, a near duplicate answers 409 with the candidates unless
    `confirm_duplicate` is true.
    """
    if not body.confirm_duplicate and clean(body.question) and clean(body.answer):
        duplicates = knowledge.near_duplicates(body.question, body.answer,
                                               min_score=config.duplicate_threshold)
        if duplicates:
            return duplicate_response(duplicates)
    theme = themes.known(session=db, name=body.theme)  # 422 for a theme not in the list
    personal_data.check(session=db, texts=(body.question, body.answer),
                        confirmed=body.confirm_personal_data, actor=caller.actor,
                        object_type="entry", object_id=None)
    entry = entries.create(
        session=db, actor=caller.actor, embedder=knowledge.embedder,
        review_months=config.review_months,
        content=entries.EntryFields(
            question=body.question, answer=body.answer, theme=theme,
            tags=tuple(body.tags), legal_references=tuple(body.legal_references),
            source=body.source, review_by=body.review_by, external_id=body.external_id))
    background.add_task(knowledge.sync_index)
    return _detail(db, entry, knowledge)


@router.patch("/entries/{entry_id}", response_model=EntryDetail)
def change_entry(entry_id: RowId, body: EntryChange, db: DbSession, knowledge: KnowledgeDep,
                 caller: WritingCaller, background: BackgroundTasks) -> EntryDetail:
    """Save a new revision of an entry with the fields given."""
    current = entries.EntryFields.of(entries.get(session=db, entry_id=entry_id))
    given = body.model_dump(exclude_unset=True,
                            exclude={"reason", "minor", "confirm_personal_data"})
    if "tags" in given:
        given["tags"] = tuple(given["tags"] or ())
    if "legal_references" in given:
        given["legal_references"] = tuple(given["legal_references"] or ())
    for required in ("question", "answer"):
        if required in given and given[required] is None:
            del given[required]
    if "theme" in given:  # a theme not in the list is refused; the entry's own may stay
        given["theme"] = themes.known(session=db, name=given["theme"], current=current.theme)
    content = replace(current, **given)
    if content.question != current.question or content.answer != current.answer:
        personal_data.check(session=db, texts=(content.question, content.answer),
                            confirmed=body.confirm_personal_data, actor=caller.actor,
                            object_type="entry", object_id=entry_id)
    entry = entries.update(session=db, entry_id=entry_id, actor=caller.actor,
                           reason=body.reason or None, embedder=knowledge.embedder,
                           minor=body.minor, content=content)
    background.add_task(knowledge.sync_index)
    return _detail(db, entry, knowledge)


@router.post("/entries/{entry_id}/retire", response_model=EntryDetail)
def retire_entry(entry_id: RowId, db: DbSession, knowledge: KnowledgeDep,
                 caller: WritingCaller, background: BackgroundTasks,
                 body: Retirement | None = None) -> EntryDetail:
    """Withdraw an entry from suggestions (409 when it already is)."""
    entry = entries.retire(session=db, entry_id=entry_id, actor=caller.actor,
                           reason=(body.reason if body else None) or None)
    background.add_task(knowledge.sync_index)
    return _detail(db, entry, knowledge)

