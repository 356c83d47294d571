"""Statistics of a period: delays in working days, rates, and breakdowns showing silent areas."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session
from stats_fixture import build, paris

from knowledge.catalog.sheets import format_cell
from knowledge.desk import statistics
from knowledge.desk.workdays import working_days_elapsed
from knowledge.errors import InvalidInput

NOVEMBER = statistics.Period(date(2026, 11, 1), date(2026, 11, 30))


def test_a_public_holiday_is_not_a_working_day() -> None:
    # Tuesday 10 to Thursday 12 November 2026: Wednesday the 11th is Armistice Day.
    assert working_days_elapsed(paris("2026-11-10"), paris("2026-11-12", 15)) == 1
    # Friday to Monday: the weekend does not count either.
    assert working_days_elapsed(paris("2026-11-20"), paris("2026-11-23")) == 1


def test_indicators_of_a_known_month(session: Session) -> None:
    build(session)
    session.commit()
    stats = statistics.report(session=session, period=NOVEMBER, target_days=5)
    now = stats.current
    assert (now.questions, now.answered, now.self_served, now.still_open) == (5, 3, 1, 1)
    # Answer delays 1 (across the holiday), 9 and 1 working days.
    assert (now.answer.count, now.answer.median, now.answer.p90) == (3, 1.0, 9.0)
    assert (now.first_response.median, now.first_response.p90) == (1.0, 9.0)
    assert now.within_target == 2 and now.within_target_share == pytest.approx(2 / 3)
    assert now.self_served_rate == pytest.approx(0.2)
    assert now.reused == 2 and now.reuse_share == pytest.approx(0.5)
    assert (now.feedback_up, now.feedback_down, now.satisfaction) == (1, 1, 0.5)
    assert stats.previous == statistics.Period(date(2025, 11, 1), date(2025, 11, 30))
    assert (stats.before.questions, stats.before.answered) == (0, 0)


def test_breakdowns_list_the_areas_that_asked_nothing(session: Session) -> None:
    build(session)
    session.commit()
    stats = statistics.report(session=session, period=NOVEMBER, target_days=5)
    departements = {row.key: (row.organisations, row.questions, row.previous_questions)
                    for row in stats.by_departement}
    assert departements == {"04": (0, 0, 0), "05": (0, 0, 0), "06": (1, 0, 0),
                            "13": (1, 2, 0), "83": (1, 3, 0), "84": (0, 0, 0),
                            "2A": (0, 0, 0), "2B": (0, 0, 0)}
    organisations = {row.label: (row.departement, row.questions, row.answered, row.self_served)
                     for row in stats.by_organisation}
    assert organisations == {"Var Logis": ("83", 3, 1, 1),
                             "Habitat Provence": ("13", 2, 2, 0),
                             "Azur Habitat": ("06", 0, 0, 0)}
    themes = {row.label: (row.questions, row.previous_questions) for row in stats.by_theme}
    assert themes == {"Attributions": (1, 0), "Charges": (1, 0), "Loyers": (2, 0),
                      "(sans thème)": (1, 0)}
    assert [(row.month, row.questions, row.previous_month, row.previous_questions)
            for row in stats.months] == [("2026-11", 5, "2025-11", 0)]


def test_tables_show_french_numbers(session: Session) -> None:
    build(session)
    session.commit()
    stats = statistics.report(session=session, period=NOVEMBER, target_days=5)
    table = {row[0]: [format_cell(cell) for cell in row[1:]]
             for row in statistics.indicator_table(stats).rows}
    assert table["Réponses dans le délai cible (5 jours ouvrés)"] == ["66,7 %", "—"]
    assert table["Réponse : 90e centile (jours ouvrés)"] == ["9", "—"]
    assert table["Satisfaction (👍 / avis)"] == ["50 %", "—"]


def test_default_period_is_the_last_twelve_calendar_months() -> None:
    assert statistics.default_period(date(2026, 11, 26)) == statistics.Period(
        date(2025, 12, 1), date(2026, 11, 26))
    assert statistics.default_period(date(2026, 1, 5)).start == date(2025, 2, 1)


def test_periods_are_read_from_iso_dates() -> None:
    period = statistics.parse_period("2026-01-01", "2026-03-31", today=date(2026, 11, 26))
    assert period.year_before() == statistics.Period(date(2025, 1, 1), date(2025, 3, 31))
    with pytest.raises(InvalidInput):
        statistics.parse_period("2026-13-01", None, today=date(2026, 11, 26))
    with pytest.raises(InvalidInput):
        statistics.parse_period("2026-05-01", "2026-04-01", today=date(2026, 11, 26))
    with pytest.raises(InvalidInput):  # the previous period would start before year 1
        statistics.parse_period("0001-01-01", None, today=date(2026, 11, 26))


@pytest.mark.parametrize(("start", "end", "start_before", "end_before"), [
    ("2026-11-01", "2026-11-30", "2025-11-01", "2025-11-30"),
    ("2026-01-01", "2026-03-31", "2025-01-01", "2025-03-31"),
    # 29 February becomes the 28th.
    ("2028-02-29", "2028-02-29", "2027-02-28", "2027-02-28"),
    ("2028-02-29", "2028-03-15", "2027-02-28", "2027-03-15"),
    # The whole of February is compared with the whole of February.
    ("2028-02-01", "2028-02-29", "2027-02-01", "2027-02-28"),
    ("2029-02-01", "2029-02-28", "2028-02-01", "2028-02-29"),
    ("2028-03-01", "2029-02-28", "2027-03-01", "2028-02-29"),
    ("2029-02-10", "2029-02-20", "2028-02-10", "2028-02-20"),
])
def test_a_period_is_compared_with_the_same_dates_one_year_earlier(
        start: str, end: str, start_before: str, end_before: str) -> None:
    period = statistics.Period(date.fromisoformat(start), date.fromisoformat(end))
    assert period.year_before() == statistics.Period(date.fromisoformat(start_before),
                                                     date.fromisoformat(end_before))


def test_the_report_compares_with_the_same_month_one_year_earlier(session: Session) -> None:
    build(session)
    session.commit()
    # October 2027 against October 2026 (one question of Habitat Provence, answered).
    october = statistics.Period(date(2027, 10, 1), date(2027, 10, 31))
    stats = statistics.report(session=session, period=october, target_days=5)
    assert stats.previous == statistics.Period(date(2026, 10, 1), date(2026, 10, 31))
    assert (stats.before.questions, stats.before.answered) == (1, 1)
    assert [(row.month, row.previous_month, row.previous_questions)
            for row in stats.months] == [("2027-10", "2026-10", 1)]
    columns = statistics.indicator_table(stats).columns
    assert columns[2] == "Un an plus tôt du 01/10/2026 au 31/10/2026"


def test_files_received_in_the_period_are_counted_apart_from_those_sent(
        session: Session) -> None:
    from knowledge.desk import attachments
    from knowledge.desk.attachments import AttachmentLimits, Upload
    from knowledge.store.models import Ticket

    build(session)
    ticket = session.query(Ticket).order_by(Ticket.id).first()
    assert ticket is not None
    [letter], _ = attachments.accept(uploads=[Upload("bail.txt", None, b"bail")],
                                     limits=AttachmentLimits())
    for when, direction in (("2026-11-10", "in"), ("2026-11-12", "in"), ("2026-11-13", "out"),
                            ("2026-10-30", "in")):
        stored = attachments.store(session=session, ticket_id=ticket.id,
                                   ticket_message_id=None, upload=letter,
                                   source="telegram" if direction == "in" else "adviser",
                                   created_by="t", direction=direction)
        stored.created_at = paris(when)
    session.commit()
    stats = statistics.report(session=session, period=NOVEMBER, target_days=5)
    assert (stats.current.files_received, stats.before.files_received) == (2, 0)
    [row] = [row for row in statistics.indicator_table(stats).rows
             if row[0] == "Fichiers reçus des demandeurs"]
    assert row[1:] == (2, 0)
