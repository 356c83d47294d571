"""Help-centre counters: exact under concurrent workers, summed per organisation over a period."""

from __future__ import annotations

import threading
import time
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from knowledge.catalog.sheets import format_cell
from knowledge.desk import help_counts, statistics
from knowledge.desk.help_counts import HelpEvent
from knowledge.store.db import make_session_factory
from knowledge.store.member_models import HelpCount
from knowledge.store.models import Organisation

DAY = date(2026, 11, 12)
NOVEMBER = statistics.Period(date(2026, 11, 1), date(2026, 11, 30))


def _organisation(session: Session, name: str) -> int:
    organisation = Organisation(name=name, kind="oph", departement="13", active=True)
    session.add(organisation)
    session.flush()
    return organisation.id


def _count(session: Session, organisation_key: int, kind: HelpEvent, day: date = DAY) -> int:
    return session.scalar(select(HelpCount.count).where(
        HelpCount.day == day, HelpCount.organisation_key == organisation_key,
        HelpCount.kind == kind.value)) or 0


def test_counts_add_up_per_day_organisation_and_kind(session: Session) -> None:
    org = _organisation(session, "Var Logis")
    for _ in range(3):
        help_counts.record(session=session, organisation_id=org, kind=HelpEvent.VISIT, day=DAY)
    help_counts.record(session=session, organisation_id=None, kind=HelpEvent.VISIT, day=DAY)
    help_counts.record(session=session, organisation_id=org, kind=HelpEvent.SEARCH_MISS,
                       day=DAY)
    help_counts.record(session=session, organisation_id=org, kind=HelpEvent.VISIT,
                       day=date(2026, 11, 13))
    session.commit()
    assert _count(session, org, HelpEvent.VISIT) == 3
    assert _count(session, help_counts.ANONYMOUS, HelpEvent.VISIT) == 1
    assert _count(session, org, HelpEvent.SEARCH_MISS) == 1
    assert _count(session, org, HelpEvent.VISIT, date(2026, 11, 13)) == 1
    assert session.scalar(select(func.count()).select_from(HelpCount)) == 4


def test_two_workers_counting_the_same_key_lose_nothing(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    per_worker, workers = 40, 2
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_worker):
                with sessions() as session:  # one request, one transaction
                    help_counts.record(session=session, organisation_id=7,
                                       kind=HelpEvent.VISIT, day=DAY)
                    session.commit()
        except BaseException as error:  # seen by the test, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with sessions() as session:
        assert _count(session, 7, HelpEvent.VISIT) == per_worker * workers
        assert session.scalar(select(func.count()).select_from(HelpCount)) == 1


def test_losing_the_race_to_create_the_days_row_keeps_the_count_and_the_callers_work(
        engine: Engine) -> None:
    sessions = make_session_factory(engine)
    first = sessions()
    help_counts.record(session=first, organisation_id=7, kind=HelpEvent.QUESTION, day=DAY)
    errors: list[BaseException] = []

    def second_worker() -> None:
        # Its own work first, then the counter: on PostgreSQL its INSERT waits for the first
        # worker's row and fails on the unique key; on SQLite the whole transaction waits.
        try:
            with sessions() as second:
                _organisation(second, "Azur Habitat")
                help_counts.record(session=second, organisation_id=7,
                                   kind=HelpEvent.QUESTION, day=DAY)
                second.commit()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=second_worker)
    thread.start()
    time.sleep(0.5)  # the second worker is now waiting on the first one's uncommitted row
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert errors == []
    with sessions() as session:
        assert _count(session, 7, HelpEvent.QUESTION) == 2
        assert session.scalar(select(Organisation.name)) == "Azur Habitat"


def test_the_report_sums_a_period_per_organisation_with_anonymous_readers_last(
        session: Session) -> None:
    var, azur = _organisation(session, "Var Logis"), _organisation(session, "Azur Habitat")
    plan = [(var, HelpEvent.VISIT, 5), (var, HelpEvent.SEARCH_HIT, 3),
            (var, HelpEvent.SEARCH_MISS, 1), (var, HelpEvent.SELF_SERVED, 2),
            (var, HelpEvent.QUESTION, 1), (azur, HelpEvent.VISIT, 2),
            (azur, HelpEvent.SEARCH_MISS, 2), (None, HelpEvent.VISIT, 9),
            (None, HelpEvent.SEARCH_HIT, 1)]
    for organisation_id, kind, times in plan:
        for _ in range(times):
            help_counts.record(session=session, organisation_id=organisation_id, kind=kind,
                               day=DAY)
    # The period's bounds are included; the days around are not.
    for day in (date(2026, 11, 1), date(2026, 11, 30), date(2026, 10, 31), date(2026, 12, 1)):
        help_counts.record(session=session, organisation_id=var, kind=HelpEvent.VISIT, day=day)
    session.commit()
    result = help_counts.report(session=session, period=NOVEMBER)
    rows = {row.label: (row.visits, row.searches, row.searches_without_result,
                        row.search_hit_share, row.self_served, row.questions)
            for row in result.rows}
    assert rows == {"Var Logis": (7, 4, 1, 0.75, 2, 1),
                    "Azur Habitat": (2, 2, 2, 0.0, 0, 0),
                    "Lecteurs anonymes": (9, 1, 0, 1.0, 0, 0)}
    assert [row.label for row in result.rows][-1] == "Lecteurs anonymes"
    total = result.total
    assert (total.visits, total.searches, total.searches_without_result,
            total.self_served, total.questions) == (18, 7, 3, 2, 1)
    table = result.table()
    assert table.key == "aide" and table.rows[-1][0] == "Total"
    assert [format_cell(cell) for cell in table.rows[0]] == [
        "Var Logis", "7", "4", "1", "75 %", "2", "1"]


def test_a_quiet_period_has_no_rows_and_a_deleted_organisation_keeps_its_figures(
        session: Session) -> None:
    help_counts.record(session=session, organisation_id=4242, kind=HelpEvent.VISIT, day=DAY)
    session.commit()
    quiet = help_counts.report(session=session,
                               period=statistics.Period(date(2026, 1, 1), date(2026, 1, 31)))
    assert quiet.is_empty and quiet.table().rows == ()
    assert quiet.total.visits == 0 and quiet.total.search_hit_share is None
    counted = help_counts.report(session=session, period=NOVEMBER)
    assert [row.label for row in counted.rows] == ["Organisme supprimé (n° 4242)"]



def test_the_statistics_report_carries_the_help_centre_table(session: Session) -> None:
    org = _organisation(session, "Var Logis")
    help_counts.record(session=session, organisation_id=org, kind=HelpEvent.VISIT, day=DAY)
    session.commit()
    stats = statistics.report(session=session, period=NOVEMBER, target_days=5)
    assert [table.key for table in stats.tables()][-1] == "aide"
    assert stats.to_dict()["help_centre"]["total"]["visits"] == 1
