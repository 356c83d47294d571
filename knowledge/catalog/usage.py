"""Usage and feedback per entry: suggested, solved alone, answers based on it, 👍/👎, comments."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.store.member_models import EntryFeedback
from knowledge.store.models import Ticket, TicketStatus


@dataclass
class EntryUsage:
    """What an entry did for askers."""

    suggested: int = 0  # questions it was shown for as a suggestion
    solved_alone: int = 0  # questions closed by the asker with it among the suggestions
    answers: int = 0  # advisers' answers based on it (published from or revised by a ticket)
    likes: int = 0
    dislikes: int = 0
    comments: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, comment)
    ticket_ids: list[int] = field(default_factory=list)  # tickets answered from it


class UsageSort(enum.StrEnum):
    """Orders of the entry list."""

    ID = "id"
    SUGGESTED = "suggested"
    SOLVED = "solved"
    ANSWERS = "answers"
    LIKES = "likes"
    DISLIKES = "dislikes"


USAGE_SORT_LABELS = {
    UsageSort.ID: "Numéro",
    UsageSort.SUGGESTED: "Fois proposée",
    UsageSort.SOLVED: "Questions résolues seule",
    UsageSort.ANSWERS: "Réponses fondées sur la fiche",
    UsageSort.LIKES: "Avis « utile »",
    UsageSort.DISLIKES: "Avis « pas utile »",
}


def usage(*, session: Session, entry_ids: Iterable[int] | None = None) -> dict[int, EntryUsage]:
    """Count, per entry, how the questions asked so far used it."""
    wanted = set(entry_ids) if entry_ids is not None else None
    result: dict[int, EntryUsage] = {}

    def of(entry_id: int) -> EntryUsage | None:
        if wanted is not None and entry_id not in wanted:
            return None
        return result.setdefault(entry_id, EntryUsage())

    rows = session.execute(select(Ticket.id, Ticket.status, Ticket.entry_id,
                                  Ticket.suggested_entry_ids, Ticket.feedback,
                                  Ticket.feedback_comment).order_by(Ticket.id))
    for ticket_id, status, entry_id, suggested, feedback, comment in rows:
        shown = [int(item) for item in (suggested or [])]
        for shown_id in dict.fromkeys(shown):
            counts = of(shown_id)
            if counts is not None:
                counts.suggested += 1
        if status == TicketStatus.SELF_SERVED.value:
            # The asker's "that answers me" covers the suggestions shown, unless one was named.
            for solved_id in ([entry_id] if entry_id is not None else dict.fromkeys(shown)):
                counts = of(solved_id)
                if counts is not None:
                    counts.solved_alone += 1
        if entry_id is None:
            continue
        counts = of(entry_id)
        if counts is None:
            continue
        if status == TicketStatus.ANSWERED.value:
            counts.answers += 1
            counts.ticket_ids.append(ticket_id)
        if feedback == 1:
            counts.likes += 1
        elif feedback == -1:
            counts.dislikes += 1
        if comment:
            counts.comments.append((ticket_id, comment))
    # Opinions given in the members' help centre count with those given in Telegram.
    for entry_id, value in session.execute(select(EntryFeedback.entry_id, EntryFeedback.value)):
        counts = of(int(entry_id))
        if counts is not None:
            counts.likes += value == 1
            counts.dislikes += value == -1
    if wanted is not None:
        for entry_id in wanted:
            result.setdefault(entry_id, EntryUsage())
    return result


def sort_ids(ids: list[int], counts: dict[int, EntryUsage], order: UsageSort) -> list[int]:
    """Sort entry ids by a usage counter, highest first (ties by number)."""
    if order is UsageSort.ID:
        return sorted(ids)
    key = {UsageSort.SUGGESTED: "suggested", UsageSort.SOLVED: "solved_alone",
           UsageSort.ANSWERS: "answers", UsageSort.LIKES: "likes",
           UsageSort.DISLIKES: "dislikes"}[order]
    empty = EntryUsage()
    return sorted(ids, key=lambda entry_id: (-getattr(counts.get(entry_id, empty), key),
                                             entry_id))
