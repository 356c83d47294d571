"""A small desk history with known figures, for the statistics, digest and export tests.

November 2026 (the period under test): five questions.

# organisation (dép.), arrived (Paris): outcome; delays in working days
1 Habitat Provence (13), Tue 10/11: answered Thu 12/11 (11/11 a holiday); first 0, answer 1
2 Habitat Provence (13), Mon 02/11: answered Mon 16/11; first 9, answer 9
3 Var Logis (83), Wed 18/11: self-served with an older entry, 👍
4 Var Logis (83), Thu 19/11: answered Fri 20/11 revising an older entry, 👎; first 1, answer 1
5 Var Logis (83), Mon 23/11: still new

October 2026 (part of the previous period): one question of Habitat Provence. September: one
question of Var Logis (outside both periods). Azur Habitat (06) never asks anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from knowledge.store.models import (
    Asker,
    KnowledgeEntry,
    Organisation,
    Ticket,
    TicketMessage,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(day: str, hour: int = 9) -> datetime:
    """A Paris wall-clock time on an ISO day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=PARIS)


@dataclass(frozen=True)
class DeskHistory:
    """Ids of what the fixture created."""

    organisations: dict[str, int]
    askers: dict[str, int]
    tickets: list[int]
    old_entry: int
    new_entries: list[int]


def build(session: Session) -> DeskHistory:
    """Write the history (the caller commits)."""
    orgs = {}
    for name, dep in (("Habitat Provence", "13"), ("Var Logis", "83"), ("Azur Habitat", "06")):
        org = Organisation(name=name, kind="oph", departement=dep, active=True,
                           created_at=paris("2026-01-05"))
        session.add(org)
        session.flush()
        orgs[name] = org.id
    askers = {}
    for name, org in (("Sophie Martin", "Habitat Provence"), ("Karim Benali", "Var Logis")):
        asker = Asker(full_name=name, telegram_user_id=700_000 + len(askers),
                      chat_id=700_000 + len(askers), organisation_id=orgs[org],
                      status="approved", created_at=paris("2026-01-05"))
        session.add(asker)
        session.flush()
        askers[org] = asker.id

    def entry(question: str, answer: str, theme: str, day: str) -> int:
        row = KnowledgeEntry(question=question, answer=answer, theme=theme,
                             legal_references=["CCH art. L441-3"], question_hash=question[:60],
                             created_by="user:camille", created_at=paris(day),
                             updated_at=paris(day), tags=[])
        session.add(row)
        session.flush()
        return row.id

    old = entry("Comment se calcule le supplément de loyer de solidarité ?",
                "Il dépend du dépassement du plafond de ressources.", "Loyers", "2026-03-02")
    new_one = entry("Le fils d'un locataire décédé peut-il reprendre le bail ?",
                    "Oui, s'il vivait avec lui depuis au moins un an.", "Attributions",
                    "2026-11-12")
    new_two = entry("Quelles charges de gardien sont récupérables ?",
                    "75 % du salaire lorsque le gardien assure l'entretien et les déchets.",
                    "Charges", "2026-11-16")

    def ticket(org: str, arrived: datetime, *, status: str = "new",
               answered: datetime | None = None, first: datetime | None = None,
               entry_id: int | None = None, theme: str | None = None,
               feedback: int | None = None) -> int:
        row = Ticket(text=f"Question de {org} du {arrived:%d/%m}", status=status,
                     asker_id=askers[org], organisation_id=orgs[org], theme=theme,
                     entry_id=entry_id, feedback=feedback, suggested_entry_ids=[],
                     created_at=arrived, updated_at=answered or arrived, answered_at=answered)
        session.add(row)
        session.flush()
        session.add(TicketMessage(ticket_id=row.id, author="asker", kind="question",
                                  text=row.text, created_at=arrived))
        if first is not None:
            session.add(TicketMessage(ticket_id=row.id, author="adviser", kind="clarification",
                                      text="Pouvez-vous préciser ?", created_at=first))
        if answered is not None and status == "answered":
            session.add(TicketMessage(ticket_id=row.id, author="adviser", kind="answer",
                                      text="Réponse.", created_at=answered))
        return row.id

    ids = [
        ticket("Habitat Provence", paris("2026-11-10"), status="answered",
               answered=paris("2026-11-12", 15), first=paris("2026-11-10", 15),
               entry_id=new_one, theme="Attributions"),
        ticket("Habitat Provence", paris("2026-11-02"), status="answered",
               answered=paris("2026-11-16", 11), entry_id=new_two, theme="Charges"),
        ticket("Var Logis", paris("2026-11-18"), status="self_served",
               answered=paris("2026-11-18", 10), entry_id=old, feedback=1),
        ticket("Var Logis", paris("2026-11-19"), status="answered",
               answered=paris("2026-11-20", 16), entry_id=old, theme="Loyers", feedback=-1),
        ticket("Var Logis", paris("2026-11-23")),
        ticket("Habitat Provence", paris("2026-10-15"), status="answered",
               answered=paris("2026-10-16"), theme="Loyers"),
        ticket("Var Logis", paris("2026-09-01")),
    ]
    return DeskHistory(organisations=orgs, askers=askers, tickets=ids, old_entry=old,
                       new_entries=[new_one, new_two])
