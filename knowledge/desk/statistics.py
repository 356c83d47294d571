"""Statistics for the association's board: questions, delays, reuse, coverage of the region.

Definitions (also in docs/admin.md):

- periods are Paris calendar days, bounds included, compared with the same dates one year
  earlier (29 February becomes the 28th; a period ending on the last day of February is
  compared with a period ending on the last day of February);
- questions received, answered, self-served, entries published and updated are counted by
  `knowledge.catalog.activity`, as the monthly digest counts them; answered questions are those
  whose first answer was sent in the period, whenever they arrived;
- every other figure is about the questions that arrived in the period;
- delays are counted in working days (Monday to Friday, French public holidays excluded) from
  the day of arrival: first response = the first message of an adviser (answer, request for
  clarification or rejection); answer = the validated answer (answered questions only);
- median, and 90th percentile by nearest rank (the delay 90 % of questions did not exceed);
- self-served = the asker said an existing answer solved the question;
- reuse = questions of the period answered or self-served whose linked entry existed before
  the question (revised or reused as it was), over those answered plus self-served;
- satisfaction = 👍 over 👍 + 👎;
- the help centre's figures are its counters (`knowledge.desk.help_counts`) summed over the
  period's days, per organisation.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from knowledge.catalog import activity
from knowledge.catalog.sheets import Cell, Days, Share, Table
from knowledge.desk import attachments, help_counts
from knowledge.desk.tickets import OPEN_VALUES
from knowledge.desk.workdays import PARIS, local_date, working_days_elapsed
from knowledge.errors import InvalidInput
from knowledge.store.models import (
    KnowledgeEntry,
    MessageAuthor,
    Organisation,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from knowledge.timeutil import FRENCH_MONTHS

# The association's region: Provence-Alpes-Côte d'Azur and Corsica. Always listed, even when a
# département asked nothing: showing the whole region is the point of the breakdown.
REGION_DEPARTEMENTS = {
    "04": "Alpes-de-Haute-Provence",
    "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes",
    "13": "Bouches-du-Rhône",
    "83": "Var",
    "84": "Vaucluse",
    "2A": "Corse-du-Sud",
    "2B": "Haute-Corse",
}
MAX_PERIOD_DAYS = 3_660
NO_THEME = "(sans thème)"
NO_ORGANISATION = "(sans organisme)"
NO_DEPARTEMENT = "(non renseigné)"


def month_label(year: int, month: int) -> str:
    """French name of a month, e.g. `novembre 2026`."""
    return f"{FRENCH_MONTHS[month - 1]} {year}"


@dataclass(frozen=True)
class Period:
    """Calendar days from `start` to `end`, both included (Paris time)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("La date de fin précède la date de début.")

    @property
    def days(self) -> int:
        """Number of calendar days."""
        return (self.end - self.start).days + 1

    def year_before(self) -> Period:
        """The same dates one year earlier (29 February becomes the 28th).

        A period ending on the last day of February ends on the last day of February a year
        earlier, so that the whole of February 2029 is compared with the whole of 2028's.
        """
        end = _one_year_earlier(self.end)
        if self.end.month == 2 and (self.end + timedelta(days=1)).month == 3:
            end = date(end.year, 3, 1) - timedelta(days=1)
        return Period(_one_year_earlier(self.start), end)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[first instant, first instant after) in UTC."""
        first = datetime.combine(self.start, time(), tzinfo=PARIS).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=PARIS)
        return first, after.astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        """Tell whether a timestamp falls within the period."""
        return self.start <= local_date(moment) <= self.end

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month the period touches, in order."""
        result = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            result.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return result

    def label(self) -> str:
        """French label, e.g. `du 01/11/2026 au 30/11/2026`."""
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"


def _one_year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def default_period(today: date) -> Period:
    """The twelve calendar months up to today (the current month included)."""
    months_back = today.year * 12 + today.month - 1 - 11
    return Period(date(months_back // 12, months_back % 12 + 1, 1), today)


def parse_period(start: str | None, end: str | None, *, today: date) -> Period:
    """Read a period from ISO dates (either may be empty); raise InvalidInput on bad dates."""
    try:
        end_day = date.fromisoformat(end) if end else today
        start_day = date.fromisoformat(start) if start else default_period(end_day).start
    except ValueError as error:
        raise InvalidInput("Date invalide : utilisez le format AAAA-MM-JJ.") from error
    period = Period(start_day, end_day)
    # The last year of datetime is refused: the day after the period must still exist.
    if period.days > MAX_PERIOD_DAYS or start_day.year < 2000 or end_day.year > 9998:
        raise InvalidInput(
            "Choisissez une période de dix ans au plus, entre l'an 2000 et l'an 9998.")
    return period


@dataclass(frozen=True)
class Delays:
    """Distribution of delays in working days."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[int]) -> Delays:
        """Summarise a list of delays."""
        if not values:
            return cls(0, None, None)
        ordered = sorted(values)
        rank = math.ceil(0.9 * len(ordered))
        return cls(len(ordered), float(statistics.median(ordered)), float(ordered[rank - 1]))


@dataclass(frozen=True)
class Indicators:
    """The key figures of one period."""

    questions: int
    answered: int
    self_served: int
    rejected: int
    still_open: int
    published: int
    updated: int
    first_response: Delays
    answer: Delays
    within_target: int
    within_target_share: float | None
    self_served_rate: float | None
    reused: int
    reuse_share: float | None
    feedback_up: int
    feedback_down: int
    satisfaction: float | None
    files_received: int = 0  # documents and photos askers sent with questions and precisions


@dataclass(frozen=True)
class BreakdownRow:
    """Questions of one theme, organisation or département, this period and a year before."""

    key: str
    label: str
    questions: int
    previous_questions: int
    answered: int
    self_served: int
    organisations: int = 0  # départements only: member organisations located there
    departement: str | None = None  # organisations only


@dataclass(frozen=True)
class MonthRow:
    """Questions of one month of the period, beside the same month one year earlier."""

    month: str
    label: str
    questions: int
    previous_month: str | None
    previous_label: str | None
    previous_questions: int | None


@dataclass(frozen=True)
class StatsReport:
    """Every figure of the statistics page for one period and the same dates a year earlier."""

    period: Period
    previous: Period
    target_days: int
    current: Indicators
    before: Indicators
    months: tuple[MonthRow, ...]
    by_theme: tuple[BreakdownRow, ...]
    by_organisation: tuple[BreakdownRow, ...]
    by_departement: tuple[BreakdownRow, ...]
    help_centre: help_counts.HelpCentreReport

    def tables(self) -> list[Table]:
        """The figures as tables (page, CSV and XLSX share them)."""
        return [indicator_table(self), month_table(self), theme_table(self),
                organisation_table(self), departement_table(self), self.help_centre.table()]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `svp stats --json`."""
        return {
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "previous_period": {"from": self.previous.start.isoformat(),
                                "to": self.previous.end.isoformat()},
            "target_days": self.target_days,
            "indicators": asdict(self.current),
            "previous_indicators": asdict(self.before),
            "months": [asdict(row) for row in self.months],
            "by_theme": [asdict(row) for row in self.by_theme],
            "by_organisation": [asdict(row) for row in self.by_organisation],
            "by_departement": [asdict(row) for row in self.by_departement],
            "help_centre": self.help_centre.to_dict(),
        }


@dataclass(frozen=True)
class _Question:
    arrived: bool  # created in the period (else only answered in it)
    answered: bool  # first answer sent in the period
    created_at: datetime
    status: str
    answered_at: datetime | None
    first_response_at: datetime | None
    organisation_id: int | None
    theme: str
    reused: bool
    feedback: int | None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _questions(session: Session, span: Period) -> list[_Question]:
    """Questions that arrived in the span, and those answered in it that arrived before."""
    first, after = span.utc_bounds()
    answered = activity.answered_ticket_ids(session=session, first=first, after=after)
    first_response = dict(session.execute(
        select(TicketMessage.ticket_id, func.min(TicketMessage.created_at))
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(Ticket.created_at >= first, Ticket.created_at < after,
               TicketMessage.author == MessageAuthor.ADVISER.value)
        .group_by(TicketMessage.ticket_id)).all())
    rows = session.execute(
        select(Ticket.id, Ticket.created_at, Ticket.status, Ticket.answered_at,
               Ticket.organisation_id, Ticket.theme, Ticket.feedback,
               KnowledgeEntry.theme, KnowledgeEntry.created_at)
        .outerjoin(KnowledgeEntry, KnowledgeEntry.id == Ticket.entry_id)
        .where(or_((Ticket.created_at >= first) & (Ticket.created_at < after),
                   Ticket.id.in_(sorted(answered))))
        .order_by(Ticket.id)).all()
    result = []
    for (ticket_id, created_at, status, answered_at, organisation_id, theme, feedback,
         entry_theme, entry_created_at) in rows:
        # MIN() over a type-decorated column comes back raw on some drivers: make it aware.
        responded = first_response.get(ticket_id)
        if responded is not None and responded.tzinfo is None:
            responded = responded.replace(tzinfo=UTC)
        result.append(_Question(
            arrived=first <= created_at < after, answered=ticket_id in answered,
            created_at=created_at, status=status, answered_at=answered_at,
            first_response_at=responded, organisation_id=organisation_id,
            theme=theme or entry_theme or NO_THEME,
            reused=(status in (TicketStatus.ANSWERED.value, TicketStatus.SELF_SERVED.value)
                    and entry_created_at is not None and entry_created_at < created_at),
            feedback=feedback))
    return result


def _indicators(everything: Sequence[_Question], counts: activity.Activity,
                target_days: int, files_received: int = 0) -> Indicators:
    questions = [q for q in everything if q.arrived]
    statuses = Counter(q.status for q in questions)
    closed_by_reuse = statuses[TicketStatus.ANSWERED.value] + \
        statuses[TicketStatus.SELF_SERVED.value]
    answer_delays = [working_days_elapsed(q.created_at, q.answered_at) for q in questions
                     if q.status == TicketStatus.ANSWERED.value and q.answered_at is not None]
    first_delays = [working_days_elapsed(q.created_at, q.first_response_at) for q in questions
                    if q.first_response_at is not None]
    within = sum(1 for delay in answer_delays if delay <= target_days)
    reused = sum(1 for q in questions if q.reused)
    up = sum(1 for q in questions if q.feedback == 1)
    down = sum(1 for q in questions if q.feedback == -1)
    return Indicators(
        questions=counts.questions, answered=counts.answered, self_served=counts.self_served,
        rejected=statuses[TicketStatus.REJECTED.value],
        still_open=sum(statuses[s] for s in OPEN_VALUES),
        published=counts.published, updated=counts.updated,
        first_response=Delays.of(first_delays), answer=Delays.of(answer_delays),
        within_target=within, within_target_share=_share(within, len(answer_delays)),
        self_served_rate=_share(counts.self_served, counts.questions),
        reused=reused, reuse_share=_share(reused, closed_by_reuse),
        feedback_up=up, feedback_down=down, satisfaction=_share(up, up + down),
        files_received=files_received)


def _months(period: Period, current: Iterable[_Question],
            before: Iterable[_Question]) -> tuple[MonthRow, ...]:
    def count(questions: Iterable[_Question]) -> Counter[tuple[int, int]]:
        return Counter((d.year, d.month) for d in (local_date(q.created_at) for q in questions
                                                   if q.arrived))

    now_counts, before_counts = count(current), count(before)
    previous_months = period.year_before().months()
    rows = []
    for rank, (year, month) in enumerate(period.months()):
        # Aligned from the end: the same month one year earlier face to face.
        back = len(previous_months) - len(period.months()) + rank
        has_previous = 0 <= back < len(previous_months)
        p_year, p_month = previous_months[back] if has_previous else (0, 0)
        rows.append(MonthRow(
            month=f"{year}-{month:02d}", label=month_label(year, month),
            questions=now_counts[(year, month)],
            previous_month=f"{p_year}-{p_month:02d}" if has_previous else None,
            previous_label=month_label(p_year, p_month) if has_previous else None,
            previous_questions=before_counts[(p_year, p_month)] if has_previous else None))
    return tuple(rows)


def _breakdown(keys: dict[str, str], key_of: Any, current: Sequence[_Question],
               before: Sequence[_Question]) -> list[BreakdownRow]:
    groups: dict[str, list[_Question]] = defaultdict(list)
    for question in current:
        groups[key_of(question)].append(question)
    previous = Counter(key_of(q) for q in before if q.arrived)
    labels = dict(keys)
    for key in (*groups, *previous):
        labels.setdefault(key, key)
    return [BreakdownRow(
        key=key, label=label, questions=sum(1 for q in groups[key] if q.arrived),
        previous_questions=previous[key], answered=sum(1 for q in groups[key] if q.answered),
        self_served=sum(1 for q in groups[key]
                        if q.arrived and q.status == TicketStatus.SELF_SERVED.value))
        for key, label in labels.items()]


def report(*, session: Session, period: Period, target_days: int) -> StatsReport:
    """Compute the statistics of a period and of the same dates one year earlier."""
    previous = period.year_before()
    current, before = _questions(session, period), _questions(session, previous)
    counts = {span: activity.activity(session=session, first=span.utc_bounds()[0],
                                      after=span.utc_bounds()[1]) for span in (period, previous)}
    files = {span: attachments.count_received(session=session, start=span.utc_bounds()[0],
                                              end=span.utc_bounds()[1])
             for span in (period, previous)}
    organisations = list(session.scalars(select(Organisation).order_by(Organisation.name)))
    departement_of = {o.id: o.departement for o in organisations}

    # Themes: every theme questions were ever filed under, so a quiet theme shows as zero.
    known_themes = {theme for theme in session.scalars(
        select(Ticket.theme).where(Ticket.theme.is_not(None)).distinct()) if theme}
    theme_rows = _breakdown({t: t for t in sorted(known_themes)}, lambda q: q.theme,
                            current, before)
    theme_rows.sort(key=lambda row: (-row.questions, row.label == NO_THEME, row.label))

    org_keys = {str(o.id): o.name for o in organisations}
    org_rows = _breakdown(org_keys, lambda q: str(q.organisation_id)
                          if q.organisation_id is not None else NO_ORGANISATION,
                          current, before)
    org_rows = [BreakdownRow(**{**asdict(row),
                                "departement": departement_of.get(int(row.key))
                                if row.key.isdigit() else None})
                for row in org_rows]
    org_rows.sort(key=lambda row: (-row.questions, row.key == NO_ORGANISATION, row.label))

    def departement(question: _Question) -> str:
        if question.organisation_id is None:
            return NO_DEPARTEMENT
        return departement_of.get(question.organisation_id) or NO_DEPARTEMENT

    extra = sorted({o.departement for o in organisations if o.departement}
                   - set(REGION_DEPARTEMENTS))
    dep_keys = {**REGION_DEPARTEMENTS, **{code: code for code in extra}}
    per_departement = Counter(o.departement or NO_DEPARTEMENT for o in organisations)
    dep_rows = [BreakdownRow(**{**asdict(row), "organisations": per_departement[row.key]})
                for row in _breakdown(dep_keys, departement, current, before)]
    return StatsReport(
        period=period, previous=previous, target_days=target_days,
        current=_indicators(current, counts[period], target_days, files[period]),
        before=_indicators(before, counts[previous], target_days, files[previous]),
        months=_months(period, current, before), by_theme=tuple(theme_rows),
        by_organisation=tuple(org_rows), by_departement=tuple(dep_rows),
        help_centre=help_counts.report(session=session, period=period))


# --- tables ----------------------------------------------------------------------------------

def _days(value: float | None) -> Days | None:
    return None if value is None else Days(value)


def _pct(value: float | None) -> Share | None:
    return None if value is None else Share(value)


def indicator_table(stats: StatsReport) -> Table:
    """Key figures, this period and the same dates one year earlier."""
    def lines(i: Indicators) -> list[Cell]:
        return [i.questions, i.answered, i.self_served, i.rejected, i.still_open, i.published,
                i.updated, _days(i.first_response.median), _days(i.first_response.p90),
                _days(i.answer.median), _days(i.answer.p90), _pct(i.within_target_share),
                _pct(i.self_served_rate), _pct(i.reuse_share), i.feedback_up, i.feedback_down,
                _pct(i.satisfaction), i.files_received]

    names = ("Questions reçues", "Questions répondues", "Résolues par une réponse existante",
             "Classées hors champ", "Encore ouvertes", "Fiches publiées", "Fiches mises à jour",
             "Première réponse : médiane (jours ouvrés)",
             "Première réponse : 90e centile (jours ouvrés)",
             "Réponse : médiane (jours ouvrés)", "Réponse : 90e centile (jours ouvrés)",
             f"Réponses dans le délai cible ({stats.target_days} jours ouvrés)",
             "Taux d'autonomie (résolues par une réponse existante)",
             "Réponses réutilisant une fiche", "Avis 👍", "Avis 👎", "Satisfaction (👍 / avis)",
             "Fichiers reçus des demandeurs")
    rows = tuple((name, now, then) for name, now, then
                 in zip(names, lines(stats.current), lines(stats.before), strict=True))
    return Table("indicateurs", "Indicateurs",
                 ("Indicateur", f"Période {stats.period.label()}",
                  f"Un an plus tôt {stats.previous.label()}"), rows)


def month_table(stats: StatsReport) -> Table:
    """Questions per month, beside the same month one year earlier."""
    return Table("mois", "Questions par mois",
                 ("Mois", "Questions", "Même mois un an plus tôt", "Questions (un an plus tôt)"),
                 tuple((row.label, row.questions, row.previous_label, row.previous_questions)
                       for row in stats.months))


def theme_table(stats: StatsReport) -> Table:
    """Questions per theme."""
    return Table("themes", "Par thème",
                 ("Thème", "Questions", "Un an plus tôt", "Répondues",
                  "Résolues seules"),
                 tuple((row.label, row.questions, row.previous_questions, row.answered,
                        row.self_served) for row in stats.by_theme))


def organisation_table(stats: StatsReport) -> Table:
    """Questions per member organisation, those that asked nothing included."""
    return Table("organismes", "Par organisme",
                 ("Organisme", "Département", "Questions", "Un an plus tôt", "Répondues",
                  "Résolues seules"),
                 tuple((row.label, row.departement, row.questions, row.previous_questions,
                        row.answered, row.self_served) for row in stats.by_organisation))


def departement_table(stats: StatsReport) -> Table:
    """Questions per département of the region, those that asked nothing included."""
    return Table("departements", "Par département",
                 ("Code", "Département", "Organismes", "Questions", "Un an plus tôt",
                  "Répondues", "Résolues seules"),
                 tuple((row.key, row.label, row.organisations, row.questions,
                        row.previous_questions, row.answered, row.self_served)
                       for row in stats.by_departement))
