"""Help-centre counters: pages read, searches with and without a result, answers that sufficed
and questions sent, per Paris day and organisation; no person, no cookie, no third party.

In `desk/` beside the statistics it feeds (the catalogue may not import the desk): the
report reads a `statistics.Period`.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.catalog.sheets import Share, Table
from knowledge.desk.workdays import local_date
from knowledge.store.member_models import HelpCount
from knowledge.store.models import Organisation
from knowledge.timeutil import utcnow

if TYPE_CHECKING:  # statistics imports this module for its report
    from knowledge.desk.statistics import Period

logger = logging.getLogger(__name__)

ANONYMOUS = 0  # the organisation key of readers who are not signed in
ANONYMOUS_LABEL = "Lecteurs anonymes"
TOTAL_LABEL = "Total"
TABLE_KEY = "aide"


class HelpEvent(enum.StrEnum):
    """What the help centre counts."""

    VISIT = "visit"  # a page served to a reader (home, search, theme, entry, questions)
    SEARCH_HIT = "search_hit"  # a search whose page shows at least one entry
    SEARCH_MISS = "search_miss"  # a search whose page shows none
    SELF_SERVED = "self_served"  # « utile » given on an entry: the answer sufficed
    QUESTION = "question"  # a question sent from the web form


def _increment(session: Session, day: date, key: int, kind: HelpEvent) -> bool:
    # One statement: the database adds, so two workers never overwrite each other's count.
    result = session.execute(
        update(HelpCount)
        .where(HelpCount.day == day, HelpCount.organisation_key == key,
               HelpCount.kind == kind.value)
        .values(count=HelpCount.count + 1)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def record(*, session: Session, organisation_id: int | None, kind: HelpEvent,
           day: date | None = None) -> None:
    """Add one to the day's counter of an organisation (None: an anonymous reader)."""
    key = ANONYMOUS if organisation_id is None else organisation_id
    when = day or local_date(utcnow())
    if _increment(session, when, key, kind):
        return
    try:
        # A savepoint: losing the race to insert the day's row must not undo the caller's work.
        with session.begin_nested():
            session.execute(insert(HelpCount).values(day=when, organisation_key=key,
                                                     kind=kind.value, count=1))
    except IntegrityError:
        # Another worker inserted the same row meanwhile (committed, or we waited for it).
        if not _increment(session, when, key, kind):
            raise
        logger.debug("help count %s/%s/%s inserted by another worker", when, key, kind)


@dataclass(frozen=True)
class HelpCentreRow:
    """The help-centre figures of one organisation (or of anonymous readers, or the total)."""

    organisation_key: int | None  # None for the total row
    label: str
    visits: int
    searches: int
    searches_without_result: int
    self_served: int
    questions: int

    @property
    def search_hit_share(self) -> float | None:
        """Share of the searches that showed at least one entry."""
        if not self.searches:
            return None
        return (self.searches - self.searches_without_result) / self.searches

    def cells(self) -> tuple[Any, ...]:
        """The row as the table shows it."""
        share = self.search_hit_share
        return (self.label, self.visits, self.searches, self.searches_without_result,
                None if share is None else Share(share), self.self_served, self.questions)


TABLE_COLUMNS = ("Organisme", "Pages vues", "Recherches", "Recherches sans résultat",
                 "Recherches avec résultat", "Réponses suffisantes (👍 utile)",
                 "Questions envoyées")


@dataclass(frozen=True)
class HelpCentreReport:
    """The help-centre figures of a period, per organisation, with their total."""

    rows: tuple[HelpCentreRow, ...]
    total: HelpCentreRow

    @property
    def is_empty(self) -> bool:
        """Tell whether nothing at all was counted in the period."""
        return not self.rows

    def table(self) -> Table:
        """The figures as a table (page, CSV and XLSX share it); no rows for a quiet period."""
        rows = () if self.is_empty else (*(row.cells() for row in self.rows), self.total.cells())
        return Table(TABLE_KEY, "Centre d'aide", TABLE_COLUMNS, rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `svp stats --json` and the API."""
        def plain(row: HelpCentreRow) -> dict[str, Any]:
            return {"organisation_key": row.organisation_key, "label": row.label,
                    "visits": row.visits, "searches": row.searches,
                    "searches_without_result": row.searches_without_result,
                    "search_hit_share": row.search_hit_share, "self_served": row.self_served,
                    "questions": row.questions}

        return {"rows": [plain(row) for row in self.rows], "total": plain(self.total)}


def _row(key: int | None, label: str, counts: dict[str, int]) -> HelpCentreRow:
    hits, misses = counts.get(HelpEvent.SEARCH_HIT, 0), counts.get(HelpEvent.SEARCH_MISS, 0)
    return HelpCentreRow(organisation_key=key, label=label,
                         visits=counts.get(HelpEvent.VISIT, 0), searches=hits + misses,
                         searches_without_result=misses,
                         self_served=counts.get(HelpEvent.SELF_SERVED, 0),
                         questions=counts.get(HelpEvent.QUESTION, 0))


def report(*, session: Session, period: Period) -> HelpCentreReport:
    """Sum the counters of a period per organisation; anonymous readers last, then the total."""
    per_key: dict[int, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for key, kind, count in session.execute(
            select(HelpCount.organisation_key, HelpCount.kind, func.sum(HelpCount.count))
            .where(HelpCount.day >= period.start, HelpCount.day <= period.end)
            .group_by(HelpCount.organisation_key, HelpCount.kind)):
        per_key[key][kind] = int(count or 0)
        totals[kind] += int(count or 0)
    names = {organisation_id: name for organisation_id, name in session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(sorted(per_key))))}

    def label(key: int) -> str:
        if key == ANONYMOUS:
            return ANONYMOUS_LABEL
        # Counters outlive an organisation (no foreign key): its figures stay in the total.
        return names.get(key) or f"Organisme supprimé (n° {key})"

    rows = sorted((_row(key, label(key), counts) for key, counts in per_key.items()),
                  key=lambda row: (row.organisation_key == ANONYMOUS, -row.visits, row.label))
    return HelpCentreReport(rows=tuple(rows), total=_row(None, TOTAL_LABEL, totals))
