"""Review dates: default period, quick choices, the due list's order, 'checked, still right'."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from knowledge.catalog import entries, reviews
from knowledge.catalog.entries import EntryFields
from knowledge.catalog.reviews import ReviewChoice
from knowledge.errors import InvalidInput
from knowledge.store.models import AuditEvent
from knowledge.timeutil import utcnow


def _entry(session: Session, question: str, review_by: date | None) -> int:
    entry = entries.create(session=session, actor="test", review_months=None,
                           content=EntryFields(question=question, answer="R.",
                                               review_by=review_by))
    return entry.id


def test_due_lists_overdue_first_then_soon_then_undated(session: Session) -> None:
    today = date(2026, 11, 26)
    later = _entry(session, "Dans trois semaines ?", today + timedelta(days=21))
    _entry(session, "Dans deux mois ?", today + timedelta(days=60))
    undated = _entry(session, "Sans date ?", None)
    oldest = _entry(session, "En retard d'un an ?", today - timedelta(days=365))
    yesterday = _entry(session, "En retard d'un jour ?", today - timedelta(days=1))
    retired = _entry(session, "Retirée ?", today - timedelta(days=400))
    entries.retire(session=session, entry_id=retired, actor="test")
    due = reviews.due(session=session, today=today)
    assert [e.id for e in due] == [oldest, yesterday, later, undated]
    assert [reviews.is_overdue(e, today) for e in due] == [True, True, False, False]
    dated = reviews.due(session=session, today=today, include_undated=False)
    assert [e.id for e in dated] == [oldest, yesterday, later]


def test_publication_sets_the_default_review_date(session: Session) -> None:
    entry = entries.create(session=session, actor="test",
                           content=EntryFields(question="Q ?", answer="R."))
    assert entry.review_by == reviews.add_months(utcnow().date(), 12)
    short = entries.create(session=session, actor="test", review_months=3,
                           content=EntryFields(question="Q2 ?", answer="R."))
    assert short.review_by == reviews.add_months(utcnow().date(), 3)


def test_quick_choices() -> None:
    today = date(2026, 1, 31)
    assert reviews.add_months(today, 1) == date(2026, 2, 28)
    assert reviews.next_review_date(ReviewChoice.JANUARY, today=today) == date(2027, 1, 1)
    assert reviews.next_review_date(ReviewChoice.SIX_MONTHS, today=today) == date(2026, 7, 31)
    assert reviews.next_review_date(ReviewChoice.PERIOD, today=today, months=24) == \
        date(2028, 1, 31)
    with pytest.raises(InvalidInput):
        reviews.next_review_date(ReviewChoice.DATE, today=today, chosen=date(2025, 1, 1))


def test_checked_entry_gets_a_later_date_and_records_who(session: Session) -> None:
    today = utcnow().date()
    entry_id = _entry(session, "Barème ?", today - timedelta(days=3))
    # Beyond the "due soon" horizon whatever today is (1 January next is within it in December).
    until = today + timedelta(days=reviews.DUE_HORIZON_DAYS + 60)
    entry = reviews.mark_verified(session=session, entry_id=entry_id, actor="user:camille",
                                  until=until)
    assert (entry.review_by, entry.reviewed_by, entry.revision) == (until, "user:camille", 1)
    assert entry_id not in [e.id for e in reviews.due(session=session, today=today)]
    assert session.query(AuditEvent).filter_by(action="entry.verify").count() == 1
    with pytest.raises(InvalidInput):
        reviews.mark_verified(session=session, entry_id=entry_id, actor="x", until=today)
