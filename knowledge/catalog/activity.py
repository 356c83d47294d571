"""The counts of a span of time, defined once for the statistics and the monthly digest.

- questions received: tickets created in the span;
- questions answered: tickets whose first answer was sent in the span, whatever the day they
  arrived (the adviser's first message of kind "answer"; for older tickets without one, the
  answer date of an answered ticket);
- self-served: tickets created in the span that an existing answer solved;
- entries published: entries created in the span by publishing an answer or by an adviser,
  not by an import (`svp demo`, `svp kb import`, the import page);
- entries updated: entries with a new revision of their text in the span, those published in
  the same span excepted (they count once, as published).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from knowledge.store.models import (
    EntryRevision,
    KnowledgeEntry,
    MessageAuthor,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from knowledge.text import count_of

# Actors that only ever create entries by importing a file (the demo, the CLI, the default).
IMPORT_ACTORS = ("demo", "cli", "import")
# Reason of the first revision of an imported entry (as of every revision an import writes).
IMPORT_REASON_PREFIX = "import "

# The same sentences on the statistics page, the digest page and docs/admin.md.
DEFINITIONS = (
    "Questions reçues : questions arrivées pendant la période.",
    "Questions répondues : questions dont la première réponse a été envoyée pendant la "
    "période, quel que soit le jour où elles sont arrivées.",
    "Résolues par une réponse existante : questions arrivées pendant la période que le "
    "demandeur a dites résolues par une réponse proposée.",
    "Fiches publiées : fiches créées pendant la période en publiant une réponse ou par un "
    "conseiller ; une fiche importée n'est pas une publication.",
    "Fiches mises à jour : fiches dont le texte a été révisé pendant la période (hors fiches "
    "publiées pendant la même période, comptées une seule fois).",
)


@dataclass(frozen=True)
class Activity:
    """What the desk received and answered, and what the knowledge base gained, in a span."""

    questions: int
    answered: int
    self_served: int
    published: int
    updated: int

    def sentences(self) -> tuple[str, str]:
        """The figures as two French sentences, numbers and words agreed."""
        return (
            f"{count_of(self.questions, 'question reçue', 'questions reçues')}, "
            f"{count_of(self.answered, 'question répondue', 'questions répondues')} par les "
            f"conseillers, {count_of(self.self_served, 'question résolue', 'questions résolues')}"
            " par une réponse existante.",
            f"{count_of(self.published, 'fiche publiée', 'fiches publiées')}, "
            f"{count_of(self.updated, 'fiche mise à jour', 'fiches mises à jour')}.")


def received_ticket_ids(*, session: Session, first: datetime, after: datetime) -> set[int]:
    """Tickets created in [first, after)."""
    return set(session.scalars(select(Ticket.id).where(Ticket.created_at >= first,
                                                       Ticket.created_at < after)))


def answered_ticket_ids(*, session: Session, first: datetime, after: datetime) -> set[int]:
    """Tickets whose first answer was sent in [first, after), whenever they arrived."""
    is_answer = (TicketMessage.author == MessageAuthor.ADVISER.value,
                 TicketMessage.kind == "answer")
    sent = func.min(TicketMessage.created_at)
    answered = set(session.scalars(
        select(TicketMessage.ticket_id).where(*is_answer).group_by(TicketMessage.ticket_id)
        .having(sent >= first, sent < after)))
    # Tickets answered before answers were kept as messages: their answer date stands.
    answered |= set(session.scalars(
        select(Ticket.id).where(
            Ticket.status == TicketStatus.ANSWERED.value, Ticket.answered_at >= first,
            Ticket.answered_at < after,
            ~exists().where(TicketMessage.ticket_id == Ticket.id, *is_answer))))
    return answered


def published_entry_ids(*, session: Session, first: datetime, after: datetime) -> set[int]:
    """Entries created in [first, after) by publication or by an adviser, imports excepted."""
    imported_revision = exists().where(
        EntryRevision.entry_id == KnowledgeEntry.id, EntryRevision.revision == 1,
        EntryRevision.reason.like(f"{IMPORT_REASON_PREFIX}%"))
    # No NULL may reach the negation below: NOT NULL would drop the entry.
    imported = (KnowledgeEntry.origin_ticket_id.is_(None)
                & or_(func.coalesce(KnowledgeEntry.created_by, "").in_(IMPORT_ACTORS),
                      imported_revision))
    return set(session.scalars(select(KnowledgeEntry.id).where(
        KnowledgeEntry.created_at >= first, KnowledgeEntry.created_at < after, ~imported)))


def updated_entry_ids(*, session: Session, first: datetime, after: datetime) -> set[int]:
    """Entries revised in [first, after), those published in the same span excepted."""
    revised = set(session.scalars(select(EntryRevision.entry_id).distinct().where(
        EntryRevision.revision > 1, EntryRevision.changed_at >= first,
        EntryRevision.changed_at < after)))
    return revised - published_entry_ids(session=session, first=first, after=after)


def activity(*, session: Session, first: datetime, after: datetime) -> Activity:
    """Count what happened in [first, after) (UTC bounds)."""
    received = received_ticket_ids(session=session, first=first, after=after)
    self_served = int(session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.created_at >= first, Ticket.created_at < after,
        Ticket.status == TicketStatus.SELF_SERVED.value)) or 0)
    return Activity(
        questions=len(received),
        answered=len(answered_ticket_ids(session=session, first=first, after=after)),
        self_served=self_served,
        published=len(published_entry_ids(session=session, first=first, after=after)),
        updated=len(updated_entry_ids(session=session, first=first, after=after)))
