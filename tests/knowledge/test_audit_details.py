"""Audit events carry before/after values of what changed, never personal data or secrets."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.people import data_requests, organisations, subscriptions
from knowledge.store.models import Asker, AuditEvent, OrganisationKind
from knowledge.timeutil import utcnow


def _last(session: Session, action: str) -> AuditEvent:
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id.desc())).first()  # type: ignore[return-value]


def test_an_update_records_before_and_after(session: Session) -> None:
    org = organisations.create(session=session, name="Var Habitat", kind=OrganisationKind.OPH,
                               departement="83", actor="test")
    session.commit()
    organisations.update(session=session, organisation_id=org.id, name="Var Habitat",
                         kind=OrganisationKind.ESH, departement="84", active=True,
                         actor="user:root")
    session.commit()
    event = _last(session, "organisation.update")
    assert event.details == {"before": {"kind": "oph", "departement": "83"},
                             "after": {"kind": "esh", "departement": "84"}}


def test_erasure_leaves_no_personal_data_in_the_log(session: Session) -> None:
    asker = Asker(telegram_user_id=4242, chat_id=4242, full_name="Sophie Martin",
                  email="sophie.martin@habitat.example", status="approved", created_at=utcnow())
    session.add(asker)
    session.commit()
    subscriptions.toggle(session=session, asker_id=asker.id)
    data_requests.erase_asker(session=session, asker_id=asker.id, actor="user:root")
    session.commit()
    everything = json.dumps([event.details for event in session.scalars(select(AuditEvent))])
    assert "Sophie" not in everything and "sophie.martin" not in everything
    assert "4242" not in everything
    erased = _last(session, "asker.erase")
    assert erased.details["after"]["status"] == "erased"
    toggled = _last(session, "asker.digest_subscription")
    assert toggled.details["before"] == {"digest_subscribed": False}


def test_events_are_filtered_by_action_prefix_and_actor(session: Session) -> None:
    for actor, action in (("user:camille", "ticket.assign"), ("user:camille", "entry.create"),
                          ("asker:3", "ticket.submit")):
        audit.record(session=session, actor=actor, action=action, object_type="x")
    session.commit()
    tickets, total = audit.search(session=session, criteria=audit.AuditFilter(action="ticket."))
    assert total == 2 and {e.action for e in tickets} == {"ticket.assign", "ticket.submit"}
    mine, total = audit.search(session=session, criteria=audit.AuditFilter(actor="CAMILLE"))
    assert total == 2 and all(e.actor == "user:camille" for e in mine)
