"""The weekly reminder of entries to review goes to linked advisers, once a week."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.desk import review_reminders
from knowledge.people import advisers
from knowledge.store.models import Outbox, UserRole
from knowledge.store.watch_models import EntryLegalFlag


def test_reminder_goes_to_linked_advisers_once_a_week(session: Session) -> None:
    today = date(2026, 11, 23)  # a Monday
    linked = advisers.create(session=session, login="camille", password="correct horse battery",
                             role=UserRole.ADVISER, display_name="Camille", actor="test")
    linked.telegram_chat_id = 42
    advisers.create(session=session, login="dominique", password="correct horse battery",
                    role=UserRole.ADVISER, display_name="Dominique", actor="test")
    assert review_reminders.send_weekly(session=session, today=today) == 0  # nothing due
    late = entries.create(session=session, actor="test", content=EntryFields(
        question="Plafonds de ressources PLAI ?", answer="R.",
        review_by=today - timedelta(days=10)))
    entries.create(session=session, actor="test", content=EntryFields(
        question="Barème SLS ?", answer="R.", review_by=today + timedelta(days=5)))
    assert review_reminders.send_weekly(session=session, today=today,
                                        admin_base_url="https://svp.example") == 1
    assert review_reminders.send_weekly(session=session, today=today + timedelta(days=4)) == 0
    assert review_reminders.send_weekly(session=session, today=today + timedelta(days=7)) == 1
    rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
    assert [(row.chat_id, row.kind) for row in rows] == [(42, "reminder")] * 2
    assert rows[0].text.startswith("Fiches à revoir : 1 en retard, 1 dans les 30 jours.")
    assert f"n° {late.id} (le 13/11/2026) : Plafonds de ressources PLAI ?" in rows[0].text
    assert rows[0].text.endswith("https://svp.example/kb/due")


def test_the_reminder_names_entries_whose_cited_text_changed_first(session: Session) -> None:
    today = date(2026, 11, 23)
    adviser = advisers.create(session=session, login="camille", password="correct horse battery",
                              role=UserRole.ADVISER, display_name="Camille", actor="test")
    adviser.telegram_chat_id = 42
    cited = entries.create(session=session, actor="test", content=EntryFields(
        question="Qui siège en CALEOL ?", answer="R.", legal_references=("CCH art. L441-2",),
        review_by=today + timedelta(days=300)))
    # A change the watch found (as an import would record it): due or not, it is named.
    session.add(EntryLegalFlag(entry_id=cited.id, reference="CCH art. L441-2", kind="modified",
                               change_key="LEGIARTI000000000002:modified",
                               reason="CCH art. L441-2 modifié, nouvelle version en vigueur "
                                      "le 01/11/2026"))
    session.flush()
    assert review_reminders.send_weekly(session=session, today=today) == 1
    [row] = session.scalars(select(Outbox))
    assert row.text.splitlines()[:3] == [
        "Un texte cité a changé : 1 fiche(s) à relire.", "",
        f"• n° {cited.id} : Qui siège en CALEOL ? — CCH art. L441-2 modifié, nouvelle version "
        "en vigueur le 01/11/2026"]
    assert "Fiches à revoir" not in row.text  # nothing is due by date
