"""Review dates: the default period, quick choices, the entries due, and 'checked, still right'."""

from __future__ import annotations

import calendar
import enum
import logging
from datetime import date, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.errors import InvalidInput, NotFound
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.timeutil import utcnow
from knowledge.watch import flags as legal_flags

logger = logging.getLogger(__name__)

DEFAULT_REVIEW_MONTHS = 12
DUE_HORIZON_DAYS = 30  # the "À revoir" page also shows what falls due within this delay


class ReviewChoice(enum.StrEnum):
    """Quick choices of the next review date."""

    PERIOD = "period"  # the default period from today
    JANUARY = "january"  # yearly figures: 1 January next
    SIX_MONTHS = "six_months"
    DATE = "date"  # a date given by the adviser


REVIEW_CHOICE_LABELS = {
    ReviewChoice.PERIOD: "Dans la période habituelle",
    ReviewChoice.JANUARY: "1er janvier prochain (barèmes annuels)",
    ReviewChoice.SIX_MONTHS: "Dans 6 mois",
    ReviewChoice.DATE: "À une date précise",
}


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later (the last day of the month when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_review_date(today: date, months: int = DEFAULT_REVIEW_MONTHS) -> date:
    """The review date of a newly published entry."""
    return add_months(today, months)


def next_review_date(choice: ReviewChoice, *, today: date, months: int = DEFAULT_REVIEW_MONTHS,
                     chosen: date | None = None) -> date:
    """Resolve a quick choice to a date after today."""
    if choice is ReviewChoice.JANUARY:
        return date(today.year + 1, 1, 1)
    if choice is ReviewChoice.SIX_MONTHS:
        return add_months(today, 6)
    if choice is ReviewChoice.DATE:
        if chosen is None:
            raise InvalidInput("Indiquez la date de la prochaine vérification.")
        if chosen <= today:
            raise InvalidInput("La prochaine vérification doit être après aujourd'hui.")
        return chosen
    return add_months(today, months)


def due(*, session: Session, today: date, within_days: int = DUE_HORIZON_DAYS,
        include_undated: bool = True) -> list[KnowledgeEntry]:
    """Active entries to check by `today + within_days`, overdue first, then those undated."""
    horizon = today + timedelta(days=within_days)
    condition = KnowledgeEntry.review_by <= horizon
    if include_undated:
        condition = condition | KnowledgeEntry.review_by.is_(None)
    undated_last = case((KnowledgeEntry.review_by.is_(None), 1), else_=0)
    return list(session.scalars(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value, condition)
        .order_by(undated_last, KnowledgeEntry.review_by, KnowledgeEntry.id)))


def is_overdue(entry: KnowledgeEntry, today: date) -> bool:
    """Tell whether an entry's review date has passed."""
    return entry.review_by is not None and entry.review_by < today


def mark_verified(*, session: Session, entry_id: int, actor: str, until: date) -> KnowledgeEntry:
    """Record that an entry was checked and is still right; push its review date to `until`."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("entry", entry_id)
    now = utcnow()
    if until <= now.date():
        raise InvalidInput("La prochaine vérification doit être après aujourd'hui.")
    previous = entry.review_by
    entry.review_by = until
    entry.reviewed_at = now
    entry.reviewed_by = actor
    session.flush()
    audit.record(session=session, actor=actor, action="entry.verify", object_type="entry",
                 object_id=entry.id,
                 details={"until": until.isoformat(),
                          "previous": previous.isoformat() if previous else None})
    # Checked now: against the texts as they are, so the changes the watch flagged are seen.
    settled = legal_flags.settle(session=session, entry_id=entry.id, actor=actor,
                                 resolution="still_right")
    if settled:
        audit.record(session=session, actor=actor, action="entry.legal_still_right",
                     object_type="entry", object_id=entry.id,
                     details={"references": sorted({flag.reference for flag in settled})})
    logger.info("entry %s checked by %s, next review %s", entry.id, actor, until)
    return entry
