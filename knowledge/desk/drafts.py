"""The answer draft of a ticket: what the page starts with, what publication fits, saving it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.desk.review import Publication, check_can_act, get_ticket
from knowledge.desk.tickets import OPEN_STATUSES
from knowledge.errors import InvalidInput
from knowledge.retrieval import evidence
from knowledge.retrieval.search import SearchHit
from knowledge.store.models import Ticket, TicketStatus, User
from knowledge.text import clean
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_DRAFT_ANSWER_CHARS = 20_000


@dataclass(frozen=True)
class Draft:
    """The fields of the answer form."""

    answer: str = ""
    question: str = ""
    theme: str = ""
    references: str = ""
    publication: str = Publication.NEW.value
    entry_id: str = ""  # the entry to update when publication is "update"
    source_entry_id: str = ""  # the suggestion the answer was taken from, if any
    keep_courtesy: str = ""  # "1": the entry keeps the greeting, closing and signature

    def as_form(self) -> dict[str, str]:
        """The draft as the template's form values."""
        return asdict(self)

    @classmethod
    def of(cls, values: dict[str, Any]) -> Draft:
        """Build a draft from form or stored values, ignoring unknown keys."""
        known = {name: str(values.get(name) or "") for name in cls.__dataclass_fields__}
        # An empty publication stays empty: the adviser has not chosen yet.
        return cls(**known)


def publication_for(answer: str, source_answer: str | None) -> Publication:
    """Pre-select what fits: unchanged suggestion → none (linked), edited one → update, else new."""
    if source_answer is None:
        return Publication.NEW
    if clean(answer) == clean(source_answer):
        return Publication.NONE
    return Publication.UPDATE


def similarity_label(score: float, *, close: float, very_close: float) -> str:
    """Say in words how similar two texts are: très proche, proche or éloignée."""
    if score >= very_close:
        return "très proche"
    if score >= close:
        return "proche"
    return "éloignée"


def initial_draft(*, ticket: Ticket, hits: list[SearchHit], threshold: float,
                  evidence_threshold: float, cited: str = "") -> Draft:
    """The draft a ticket page opens with.

    The saved one; else the best suggestion, to send as is, when its best passage answers the
    question (evidence threshold); else the cited draft of the entries above the abstention
    threshold, with no publication chosen; else an empty answer (nothing covers the question).
    """
    if ticket.draft:
        return Draft.of(ticket.draft)
    best = hits[0] if hits else None
    if best is None or best.score < threshold:
        return Draft(question=ticket.text, theme=ticket.theme or "",
                     entry_id=str(best.entry_id) if best else "")
    if evidence.strength(best, threshold=threshold,
                         evidence=evidence_threshold) is not evidence.Strength.ANSWERS:
        return Draft(answer=cited, question=ticket.text, theme=best.theme or ticket.theme or "",
                     publication="", entry_id=str(best.entry_id))
    return Draft(answer=best.answer, question=ticket.text,
                 theme=best.theme or ticket.theme or "",
                 publication=publication_for(best.answer, best.answer).value,
                 entry_id=str(best.entry_id), source_entry_id=str(best.entry_id))


@dataclass(frozen=True)
class Refusal:
    """Why the last answer sent from the page was refused, shown with the draft it kept."""

    error: str
    user_id: int


REFUSAL_KEY = "refusal"


def refusal_of(ticket: Ticket, *, adviser: User) -> Refusal | None:
    """The refusal this adviser's last answer met on the ticket, if the draft still has it."""
    stored = (ticket.draft or {}).get(REFUSAL_KEY)
    if not isinstance(stored, dict) or stored.get("user_id") != adviser.id:
        return None
    return Refusal(error=str(stored.get("error") or ""), user_id=adviser.id)


def keep_refused(*, session: Session, ticket_id: int, adviser: User, draft: Draft,
                 error: str) -> Ticket:
    """Keep a refused answer as the ticket's draft, with the reason, for the page to show.

    After a refusal the page redirects to the ticket (a reload sends nothing again): what the
    adviser typed and why it was refused must survive the redirect.
    """
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    ticket.draft = {**draft.as_form(), REFUSAL_KEY: {"error": error, "user_id": adviser.id}}
    ticket.draft_saved_at = utcnow()
    audit.record(session=session, actor=f"user:{adviser.login}", action="ticket.draft",
                 object_type="ticket", object_id=ticket.id, details={"refused": True})
    logger.info("refused answer of ticket %s kept as draft for %s", ticket.id, adviser.login)
    return ticket


def save(*, session: Session, ticket_id: int, adviser: User, draft: Draft) -> Ticket:
    """Keep the adviser's draft on the ticket without sending anything."""
    ticket = get_ticket(session=session, ticket_id=ticket_id)
    check_can_act(ticket, adviser, OPEN_STATUSES)
    if len(clean(draft.answer)) > MAX_DRAFT_ANSWER_CHARS:
        raise InvalidInput(f"La réponse dépasse {MAX_DRAFT_ANSWER_CHARS} caractères.")
    ticket.draft = draft.as_form()
    ticket.draft_saved_at = utcnow()
    if ticket.assigned_to_id is None:
        ticket.assigned_to_id = adviser.id
        if ticket.status == TicketStatus.NEW.value:
            ticket.status = TicketStatus.IN_REVIEW.value
    ticket.updated_at = ticket.draft_saved_at
    audit.record(session=session, actor=f"user:{adviser.login}", action="ticket.draft",
                 object_type="ticket", object_id=ticket.id)
    logger.info("draft of ticket %s saved by %s", ticket.id, adviser.login)
    return ticket
