"""Advisers told by email when they chose it (issue 24, point 7): a new question, a follow-up
on their own ticket, the weekly reminder; none without an address or against their choice."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "admin"))
from admin_helpers import make_asker, make_entry, make_user

from knowledge.desk import adviser_alerts, review_reminders, tickets
from knowledge.errors import InvalidInput
from knowledge.runtime import Knowledge
from knowledge.store.models import Outbox, User


def _user(knowledge: Knowledge, login: str, alerts: list[str], email: str = "") -> int:
    user_id = make_user(knowledge, login)
    with knowledge.session() as session:
        adviser_alerts.set_preferences(session=session, user_id=user_id,
                                       email=email or f"{login}@svp.example", alerts=alerts)
    return user_id


def _mails(knowledge: Knowledge) -> list[tuple[str | None, str, str | None]]:
    with knowledge.session() as session:
        return [(row.email_to, row.kind, row.subject) for row in session.scalars(
            select(Outbox).where(Outbox.channel == "email").order_by(Outbox.id))]


def test_each_adviser_gets_by_email_only_what_they_chose(knowledge: Knowledge) -> None:
    camille = _user(knowledge, "camille", ["new_question", "follow_up"])
    _user(knowledge, "louis", ["reminder"])
    asker_id = make_asker(knowledge)
    with knowledge.session() as session:
        ticket = tickets.submit(session=session, asker_id=asker_id,
                                text="Le SLS est-il dû en QPV ?",
                                admin_base_url="https://svp.example")
        ticket.assigned_to_id = camille
        ticket_id = ticket.id
    with knowledge.session() as session:
        tickets.add_asker_message(session=session, ticket_id=ticket_id, asker_id=asker_id,
                                  text="Il s'agit d'une résidence en QPV depuis 2024.")
    sent = _mails(knowledge)
    assert [(to, kind) for to, kind, _ in sent] == [("camille@svp.example", "notification"),
                                                   ("camille@svp.example", "notification")]
    assert sent[0][2] == f"[SVP n° {ticket_id}] Nouvelle question (Habitat Test)"
    assert sent[1][2] == f"[SVP n° {ticket_id}] Précision du demandeur"
    with knowledge.session() as session:
        body = session.scalars(select(Outbox.text).where(Outbox.channel == "email")).first()
        assert body is not None and f"https://svp.example/tickets/{ticket_id}" in body
    make_entry(knowledge, "Question à revoir", "Réponse.")
    with knowledge.session() as session:  # in 2099 the entry is long due for review
        review_reminders.send_weekly(session=session, today=date(2099, 1, 5))
        review_reminders.send_weekly(session=session, today=date(2099, 1, 6))  # same week
    reminders = [row for row in _mails(knowledge) if row[1] == "reminder"]
    assert [to for to, _, _ in reminders] == ["louis@svp.example"]


def test_an_alert_needs_an_address_and_a_known_choice(knowledge: Knowledge) -> None:
    user_id = make_user(knowledge, "camille")
    with knowledge.session() as session:
        with pytest.raises(InvalidInput, match="adresse"):
            adviser_alerts.set_preferences(session=session, user_id=user_id, email="",
                                           alerts=["new_question"])
        with pytest.raises(InvalidInput, match="adresse de courriel"):
            adviser_alerts.set_preferences(session=session, user_id=user_id,
                                           email="pas une adresse", alerts=[])
        with pytest.raises(InvalidInput, match="inconnu"):
            adviser_alerts.set_preferences(session=session, user_id=user_id,
                                           email="c@svp.example", alerts=["tout"])
        user = session.get(User, user_id)
        assert user is not None and user.email is None and not user.email_notifications
