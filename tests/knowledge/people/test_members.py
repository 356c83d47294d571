"""Members of the help centre: who may sign in, one-time links, sessions (issue 23)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput
from knowledge.people import members, organisations
from knowledge.people.throttle import TooManyAttempts
from knowledge.store.db import make_session_factory
from knowledge.store.member_models import MemberSession
from knowledge.store.models import Asker, AskerStatus, OrganisationKind
from knowledge.timeutil import utcnow


def _organisation(session: Session, name: str = "Habitat Test", domains: tuple[str, ...] = (
        "habitat-test.fr",)) -> int:
    organisation = organisations.create(session=session, name=name, kind=OrganisationKind.OPH,
                                        departement="13", actor="test")
    members.set_domains(session=session, organisation_id=organisation.id, domains=list(domains),
                        actor="test")
    return organisation.id


def test_addresses_and_domains_are_read_strictly() -> None:
    assert members.normalise_email("  Claire.Martin@Habitat-Test.FR ") == \
        "claire.martin@habitat-test.fr"
    for wrong in ("claire", "claire@", "@habitat.fr", "a b@habitat.fr", "claire@habitat",
                  "x" * 250 + "@habitat.fr"):
        with pytest.raises(InvalidInput):
            members.normalise_email(wrong)
    assert members.parse_domains("Habitat-Test.fr\n@ht13.fr, habitat-test.fr") == [
        "habitat-test.fr", "ht13.fr"]
    with pytest.raises(InvalidInput, match="n'est pas un domaine"):
        members.parse_domains("habitat test")


def test_who_is_a_member(session: Session) -> None:
    organisation_id = _organisation(session)
    other = _organisation(session, "Logis Sud", ())
    session.add(Asker(full_name="Jean", email="Jean@Gmail.example", organisation_id=other,
                      status=AskerStatus.APPROVED.value, created_at=utcnow()))
    session.add(Asker(full_name="Refusé", email="refuse@gmail.example", organisation_id=other,
                      status=AskerStatus.BLOCKED.value, created_at=utcnow()))
    session.flush()
    assert members.identify(session=session, email="claire@habitat-test.fr") == members.Member(
        email="claire@habitat-test.fr", organisation_id=organisation_id, asker_id=None)
    jean = members.identify(session=session, email="jean@gmail.example")
    assert jean is not None and jean.organisation_id == other and jean.asker_id is not None
    assert members.identify(session=session, email="refuse@gmail.example") is None
    assert members.identify(session=session, email="claire@habitat-test.fr.evil.example") is None
    with pytest.raises(Conflict, match="Habitat Test"):
        members.set_domains(session=session, organisation_id=other,
                            domains=["habitat-test.fr"], actor="test")


def test_a_link_serves_once_within_its_minutes(session: Session) -> None:
    _organisation(session)
    now = utcnow()
    issued = members.request_link(session=session, email="claire@habitat-test.fr", ip="10.0.0.1",
                                  now=now)
    assert issued is not None and issued.expires_at == now + timedelta(minutes=15)
    assert members.request_link(session=session, email="inconnu@ailleurs.example",
                                ip="10.0.0.1", now=now) is None
    token, row = members.redeem(session=session, token=issued.token, ip="10.0.0.1",
                                now=now + timedelta(minutes=14))
    assert members.resolve(session=session, token=token) is row
    with pytest.raises(InvalidInput, match="plus valable"):
        members.redeem(session=session, token=issued.token, ip="10.0.0.1")
    late = members.request_link(session=session, email="claire@habitat-test.fr", ip="10.0.0.2",
                                now=now)
    assert late is not None
    with pytest.raises(InvalidInput, match="plus valable"):
        members.redeem(session=session, token=late.token, ip="10.0.0.2",
                       now=now + timedelta(minutes=15, seconds=1))
    members.sign_out(session=session, token=token)
    assert members.resolve(session=session, token=token) is None


def test_requests_are_throttled_per_address_known_or_not(session: Session) -> None:
    _organisation(session)
    for address in ("claire@habitat-test.fr", "inconnu@ailleurs.example"):
        for attempt in range(members.PER_ADDRESS):
            members.request_link(session=session, email=address, ip=f"10.1.{attempt}.1")
        with pytest.raises(TooManyAttempts):
            members.request_link(session=session, email=address, ip="10.9.9.9")


def test_two_clicks_at_once_open_one_session(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        _organisation(session)
        issued = members.request_link(session=session, email="claire@habitat-test.fr",
                                      ip="10.0.0.1")
        session.commit()
    assert issued is not None
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        with factory() as session:
            barrier.wait()
            try:
                members.redeem(session=session, token=issued.token, ip="10.0.0.1")
                session.commit()
                outcomes.append("opened")
            except InvalidInput:
                session.rollback()
                outcomes.append("refused")
            except Exception:  # SQLite's lock: the second writer waits, then is refused
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["opened", "refused"]
    with factory() as session:
        assert len(session.scalars(select(MemberSession)).all()) == 1


def test_erasing_an_asker_removes_their_help_centre_links_sessions_and_name(
        session: Session) -> None:
    from knowledge import audit
    from knowledge.people import data_requests
    from knowledge.store.member_models import MemberLink
    from knowledge.store.models import AuditEvent

    organisation_id = _organisation(session)
    asker = Asker(full_name="Claire", email="Claire@Habitat-Test.fr",
                  organisation_id=organisation_id, status=AskerStatus.APPROVED.value,
                  created_at=utcnow())
    session.add(asker)
    session.flush()
    issued = members.request_link(session=session, email="claire@habitat-test.fr", ip="1.2.3.4")
    assert issued is not None
    members.redeem(session=session, token=issued.token, ip="1.2.3.4")
    members.request_link(session=session, email="claire@habitat-test.fr", ip="1.2.3.4")
    audit.record(session=session, actor="member:claire@habitat-test.fr", action="entry.feedback",
                 object_type="entry", object_id=1, details={"value": 1})
    erased = data_requests.erase_asker(session=session, asker_id=asker.id, actor="test")
    assert erased.counts["member_access"] == 3  # two links, one session
    assert session.scalars(select(MemberLink)).all() == []
    assert session.scalars(select(MemberSession)).all() == []
    actors = set(session.scalars(select(AuditEvent.actor)))
    assert "member:claire@habitat-test.fr" not in actors and f"asker:{asker.id}" in actors
