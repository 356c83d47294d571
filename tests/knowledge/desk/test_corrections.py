"""Corrections pushed to askers: once per asker per revision, erased askers skipped, in the
outbox and on each ticket."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.catalog import entries
from knowledge.catalog.entries import EntryFields
from knowledge.desk import corrections
from knowledge.errors import Conflict
from knowledge.people import data_requests
from knowledge.store.models import (
    Asker,
    AskerStatus,
    KnowledgeEntry,
    Outbox,
    OutboxKind,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from knowledge.timeutil import utcnow


def _asker(session: Session, number: int) -> Asker:
    asker = Asker(telegram_user_id=700_000 + number, chat_id=700_000 + number,
                  full_name=f"Demandeur {number}", status=AskerStatus.APPROVED.value,
                  created_at=utcnow())
    session.add(asker)
    session.flush()
    return asker


def _answered(session: Session, asker: Asker, entry_id: int | None, *,
              status: TicketStatus = TicketStatus.ANSWERED, suggested: list[int] | None = None,
              days_ago: int = 1) -> Ticket:
    when = utcnow() - timedelta(days=days_ago)
    ticket = Ticket(text=f"Question de {asker.full_name} ?", status=status.value,
                    asker_id=asker.id, entry_id=entry_id, suggested_entry_ids=suggested or [],
                    created_at=when, updated_at=when, answered_at=when)
    session.add(ticket)
    session.flush()
    return ticket


def _revise(session: Session, entry: KnowledgeEntry, answer: str, *, minor: bool = False) -> None:
    entries.update(session=session, entry_id=entry.id, actor="user:camille", minor=minor,
                   content=replace(EntryFields.of(entry), answer=answer))


def _corrections(session: Session) -> list[Outbox]:
    return list(session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.CORRECTION.value)
                                .order_by(Outbox.id)))


@pytest.fixture
def entry(session: Session) -> KnowledgeEntry:
    return entries.create(session=session, actor="test", content=EntryFields(
        question="Quel est le plafond PLUS ?", answer="30 000 euros."))


def test_correction_reaches_each_concerned_asker_once_per_revision(
        session: Session, entry: KnowledgeEntry) -> None:
    alice, bruno, chloe, other = (_asker(session, n) for n in range(4))
    first = _answered(session, alice, entry.id, days_ago=5)
    second = _answered(session, alice, None, status=TicketStatus.SELF_SERVED,
                       suggested=[entry.id], days_ago=3)
    _answered(session, bruno, entry.id, days_ago=4)
    _answered(session, other, None)  # answered without this entry
    assert corrections.state(session=session, entry_id=entry.id).recipients == []
    _revise(session, entry, "31 000 euros.")
    # The change happened two days ago; Chloé was answered after it, from the new text.
    entries.revisions(session=session, entry_id=entry.id)[-1].changed_at = (
        utcnow() - timedelta(days=2))
    _answered(session, chloe, entry.id, days_ago=1)
    data_requests.erase_asker(session=session, asker_id=bruno.id, actor="test")

    state = corrections.state(session=session, entry_id=entry.id)
    assert [(r.asker_id, [t.id for t in r.tickets], r.pending) for r in state.recipients] == [
        (alice.id, [first.id, second.id], True), (bruno.id, [first.id + 2], False)]

    sent = corrections.send(session=session, entry_id=entry.id, actor="user:camille",
                            message="Le plafond est désormais de 31 000 euros.")
    session.commit()
    assert [c.asker_id for c in sent] == [alice.id]
    [row] = _corrections(session)
    assert (row.chat_id, row.asker_id, row.ticket_id, row.status) == (
        alice.chat_id, alice.id, second.id, "pending")
    assert "31 000 euros" in row.text and f"n° {first.id}, n° {second.id}" in row.text
    notes = session.scalars(select(TicketMessage.ticket_id)
                            .where(TicketMessage.kind == "correction")).all()
    assert sorted(notes) == [first.id, second.id]

    with pytest.raises(Conflict):
        corrections.send(session=session, entry_id=entry.id, actor="x", message="Encore.")
    _revise(session, entry, "31 000 euros (arrondi).", minor=True)  # form only: no new round
    assert corrections.state(session=session, entry_id=entry.id).pending == []

    _revise(session, entry, "32 000 euros.")
    assert [r.asker_id for r in corrections.state(session=session, entry_id=entry.id).pending] \
        == [alice.id, chloe.id]
    corrections.send(session=session, entry_id=entry.id, actor="x", message="32 000 euros.")
    entries.retire(session=session, entry_id=entry.id, actor="x", reason="dispositif supprimé")
    retired = corrections.state(session=session, entry_id=entry.id)
    assert retired.retired and [r.asker_id for r in retired.pending] == [alice.id, chloe.id]
    assert "n'est plus valable" in corrections.default_message(session=session,
                                                               entry_id=entry.id)
    corrections.send(session=session, entry_id=entry.id, actor="x", message="Retirée.")
    session.commit()
    assert [r.asker_id for r in _corrections(session)] == [alice.id, alice.id, chloe.id,
                                                          alice.id, chloe.id]
