"""One definition of each count: the digest and the statistics agree on a known month.

December 2026, Paris time:

- questions: A arrived 27/11, answered 02/12; B arrived 03/12, answered 04/12; C arrived
  10/12, still open; D arrived 14/12, self-served; E arrived 05/11 and answered 06/11;
- entries: P published from B on 04/12; Q created by an adviser (API) on 08/12; three entries
  imported on 01/12 (the demo, a CLI import, a web import), one of which is revised on
  15/12; R created in March and revised on 09/12, then marked verified on 05/01 (its
  `updated_at` moves to January, its revision stays in December); S revised in November only;
  P corrected on 20/12 (published this month: it counts once, as published).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session
from stats_fixture import paris

from knowledge.catalog import activity, digest, entries, importing
from knowledge.catalog.entries import EntryFields
from knowledge.desk import statistics
from knowledge.store.models import Ticket, TicketMessage

DECEMBER = digest.Month(2026, 12)
NOVEMBER = digest.Month(2026, 11)


class Clock:
    """The time entries are written at, set by the test."""

    def __init__(self) -> None:
        self.now = paris("2026-01-01")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fixed = Clock()
    monkeypatch.setattr(entries, "utcnow", fixed)
    yield fixed


def _ticket(session: Session, arrived: datetime, *, status: str = "new",
            answered: datetime | None = None) -> int:
    row = Ticket(text=f"Question du {arrived:%d/%m}", status=status, created_at=arrived,
                 updated_at=answered or arrived, answered_at=answered, suggested_entry_ids=[])
    session.add(row)
    session.flush()
    session.add(TicketMessage(ticket_id=row.id, author="asker", kind="question",
                              text=row.text, created_at=arrived))
    if status == "answered" and answered is not None:
        session.add(TicketMessage(ticket_id=row.id, author="adviser", kind="answer",
                                  text="Réponse.", created_at=answered))
    return row.id


def _fields(question: str) -> EntryFields:
    return EntryFields(question=question, answer=f"Réponse à : {question}", theme="Loyers")


def _import(session: Session, clock: Clock, question: str, *, actor: str) -> int:
    clock.now = paris("2026-12-01", 10)
    line = json.dumps({"question": question, "answer": "Réponse importée.", "theme": "Loyers"})
    report = importing.import_data(session=session, data=line.encode(), filename="base.jsonl",
                                   actor=actor)
    assert report.created == 1, report
    return report.entry_ids[0]


def _revise(session: Session, clock: Clock, entry_id: int, day: str, answer: str) -> None:
    clock.now = paris(day, 11)
    current = EntryFields.of(entries.get(session=session, entry_id=entry_id))
    entries.update(session=session, entry_id=entry_id, actor="user:camille",
                   content=EntryFields(**{**current.__dict__, "answer": answer}))


def _december(session: Session, clock: Clock) -> dict[str, int]:
    ids = {
        "A": _ticket(session, paris("2026-11-27"), status="answered",
                     answered=paris("2026-12-02", 15)),
        "B": _ticket(session, paris("2026-12-03"), status="answered",
                     answered=paris("2026-12-04", 10)),
        "C": _ticket(session, paris("2026-12-10")),
        "D": _ticket(session, paris("2026-12-14"), status="self_served",
                     answered=paris("2026-12-14", 10)),
        "E": _ticket(session, paris("2026-11-05"), status="answered",
                     answered=paris("2026-11-06", 10)),
    }
    clock.now = paris("2026-03-02")
    ids["R"] = entries.create(session=session, content=_fields("Qui paie la TEOM ?"),
                              actor="user:camille").id
    ids["S"] = entries.create(session=session, content=_fields("Le SLS est-il dû ?"),
                              actor="user:camille").id
    _revise(session, clock, ids["S"], "2026-11-20", "Oui, au-delà du plafond.")
    ids["demo"] = _import(session, clock, "Qu'est-ce qu'un bail mobilité ?", actor="demo")
    ids["cli"] = _import(session, clock, "Qu'est-ce que l'APL ?", actor="cli")
    ids["web"] = _import(session, clock, "Qu'est-ce que le DALO ?", actor="user:camille")
    clock.now = paris("2026-12-04", 10)
    ids["P"] = entries.create(session=session, content=_fields("Le fils peut-il reprendre ?"),
                              actor="user:camille", origin_ticket_id=ids["B"]).id
    clock.now = paris("2026-12-08", 10)
    ids["Q"] = entries.create(session=session, content=_fields("Charges de gardien ?"),
                              actor="user:dominique").id
    _revise(session, clock, ids["R"], "2026-12-09", "Le locataire, par les charges.")
    _revise(session, clock, ids["web"], "2026-12-15", "Le droit au logement opposable.")
    _revise(session, clock, ids["P"], "2026-12-20", "Oui, après un an de vie commune.")
    # Marked verified in January: updated_at leaves December, the revision does not.
    entries.get(session=session, entry_id=ids["R"]).updated_at = paris("2027-01-05")
    session.commit()
    return ids


def _stats_of(session: Session, month: digest.Month) -> statistics.Indicators:
    first = date(month.year, month.month, 1)
    last = date(month.year + 1, 1, 1) if month.month == 12 else \
        date(month.year, month.month + 1, 1)
    period = statistics.Period(first, date.fromordinal(last.toordinal() - 1))
    return statistics.report(session=session, period=period, target_days=5).current


def test_digest_and_statistics_count_the_same_month_the_same_way(session: Session,
                                                                  clock: Clock) -> None:
    _december(session, clock)
    figures = digest.figures(session=session, month=DECEMBER)
    # A (arrived in November) is answered in December; the imports are not publications;
    # R's revision counts although its updated_at is in January; P counts once.
    assert figures == activity.Activity(questions=3, answered=2, self_served=1, published=2,
                                        updated=2)
    now = _stats_of(session, DECEMBER)
    assert (now.questions, now.answered, now.self_served, now.published, now.updated) == (
        figures.questions, figures.answered, figures.self_served, figures.published,
        figures.updated)
    assert digest.build(session=session, month=DECEMBER).figures == figures


def test_november_counts_only_what_was_answered_in_november(session: Session,
                                                            clock: Clock) -> None:
    _december(session, clock)
    figures = digest.figures(session=session, month=NOVEMBER)
    # A arrived in November but was answered in December; E was answered in November.
    assert figures == activity.Activity(questions=2, answered=1, self_served=0, published=0,
                                        updated=1)
    now = _stats_of(session, NOVEMBER)
    assert (now.questions, now.answered, now.updated) == (2, 1, 1)


def test_the_letter_preselects_exactly_the_entries_changed_in_the_month(
        session: Session, clock: Clock) -> None:
    ids = _december(session, clock)
    chosen = {entry.id for entry in digest.candidates(session=session, month=DECEMBER)}
    assert chosen == {ids["P"], ids["Q"], ids["R"], ids["web"]}
    letter = digest.build(session=session, month=DECEMBER)
    assert {item.entry_id: item.revised for item in letter.items} == {
        ids["P"]: False, ids["Q"]: False, ids["R"]: True, ids["web"]: True}


def test_the_figures_agree_in_number(session: Session, clock: Clock) -> None:
    _december(session, clock)
    lines = digest.render_telegram(digest.build(session=session, month=DECEMBER))
    assert ("3 questions reçues, 2 questions répondues par les conseillers, 1 question résolue "
            "par une réponse existante.") in lines
    assert "2 fiches publiées, 2 fiches mises à jour." in lines
    november = digest.render_html(digest.build(session=session, month=NOVEMBER))
    assert "2 questions reçues, 1 question répondue par les conseillers, 0 question résolue" \
        in november
    assert "0 fiche publiée, 1 fiche mise à jour." in november
