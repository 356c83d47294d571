"""Usage counters per entry on a fixture with known numbers, and the list sorted by them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge.catalog import entries, usage
from knowledge.catalog.entries import EntryFields
from knowledge.catalog.usage import EntryUsage, UsageSort
from knowledge.store.models import Ticket, TicketStatus
from knowledge.timeutil import utcnow


def _ticket(session: Session, *, status: TicketStatus, suggested: list[int],
            entry_id: int | None = None, feedback: int | None = None,
            comment: str | None = None) -> int:
    now = utcnow()
    ticket = Ticket(text="Question ?", status=status.value, suggested_entry_ids=suggested,
                    entry_id=entry_id, feedback=feedback, feedback_comment=comment,
                    created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    return ticket.id


def test_usage_counters_on_known_tickets(session: Session) -> None:
    a, b, c = (entries.create(session=session, actor="test", content=EntryFields(
        question=f"Question {n} ?", answer="R.")).id for n in "ABC")
    # a: suggested 4 times, solves 2 questions alone, 1 answer with 👍, 1 with 👎 + comment.
    _ticket(session, status=TicketStatus.SELF_SERVED, suggested=[a, b])
    _ticket(session, status=TicketStatus.SELF_SERVED, suggested=[b, a], entry_id=a)
    one = _ticket(session, status=TicketStatus.ANSWERED, suggested=[a], entry_id=a, feedback=1)
    two = _ticket(session, status=TicketStatus.ANSWERED, suggested=[a, c], entry_id=a,
                  feedback=-1, comment="Le plafond a changé.")
    # b: solves 1 (the other named a), answered once unsuggested; c: suggested, never chosen.
    three = _ticket(session, status=TicketStatus.ANSWERED, suggested=[], entry_id=b, feedback=1)
    _ticket(session, status=TicketStatus.NEW, suggested=[])
    counts = usage.usage(session=session)
    assert counts[a] == EntryUsage(suggested=4, solved_alone=2, answers=2, likes=1, dislikes=1,
                                   comments=[(two, "Le plafond a changé.")],
                                   ticket_ids=[one, two])
    assert counts[b] == EntryUsage(suggested=2, solved_alone=1, answers=1, likes=1,
                                   ticket_ids=[three])
    assert counts[c] == EntryUsage(suggested=1)
    only_c = usage.usage(session=session, entry_ids=[c])
    assert list(only_c) == [c]
    ids = [a, b, c]
    assert usage.sort_ids(ids, counts, UsageSort.SUGGESTED) == [a, b, c]
    assert usage.sort_ids(ids, counts, UsageSort.DISLIKES) == [a, b, c]
    assert usage.sort_ids([c, b, a], counts, UsageSort.ANSWERS) == [a, b, c]
    assert usage.sort_ids([c, b, a], counts, UsageSort.ID) == [a, b, c]
