"""Members of the help centre: who may sign in, one-time links, sessions (issue 23)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge.errors import Conflict, InvalidInput
from knowledge.people import askers, members, organisations
from knowledge.people.throttle import TooManyAttempts
from knowledge.store.db import make_session_factory
from knowledge.store.member_models import MemberLink, MemberSession
from knowledge.store.models import Asker, AskerStatus, AuditEvent, Organisation, OrganisationKind
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


# --- links from the bot (`/web`): an approved asker, with or without an address ------------


def _telegram_asker(session: Session, organisation_id: int, *, email: str | None = None,
                    status: str = AskerStatus.APPROVED.value) -> int:
    asker = Asker(full_name="Paul", email=email, organisation_id=organisation_id,
                  telegram_user_id=910_001, chat_id=910_001, status=status,
                  created_at=utcnow())
    session.add(asker)
    session.flush()
    return asker.id


def _deactivate(session: Session, organisation_id: int) -> None:
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    organisation.active = False
    session.flush()


def test_an_asker_without_address_signs_in_once_with_a_link_from_the_bot(
        session: Session) -> None:
    organisation_id = _organisation(session, domains=())
    asker_id = _telegram_asker(session, organisation_id)
    now = utcnow()
    issued = members.link_for_asker(session=session, asker_id=asker_id, now=now)
    assert issued.email == "" and issued.expires_at == now + timedelta(minutes=15)
    link = session.scalars(select(MemberLink)).one()
    assert (link.email, link.asker_id, link.organisation_id) == ("", asker_id, organisation_id)
    assert link.token_hash != issued.token  # only its hash is kept
    assert members.link_is_live(session=session, token=issued.token, now=now)
    token, row = members.redeem(session=session, token=issued.token, ip="10.0.0.1",
                                now=now + timedelta(minutes=1))
    assert (row.email, row.asker_id, row.organisation_id) == ("", asker_id, organisation_id)
    assert members.resolve(session=session, token=token) is row
    assert members.ensure_asker(session=session, member_session=row) == asker_id
    with pytest.raises(InvalidInput, match="plus valable"):
        members.redeem(session=session, token=issued.token, ip="10.0.0.1")
    actors = set(session.scalars(select(AuditEvent.actor).where(
        AuditEvent.action == "member.sign_in")))
    assert actors == {f"member:asker-{asker_id}"}


def test_a_link_from_the_bot_expires_after_15_minutes(session: Session) -> None:
    asker_id = _telegram_asker(session, _organisation(session, domains=()))
    now = utcnow()
    issued = members.link_for_asker(session=session, asker_id=asker_id, now=now)
    late = now + timedelta(minutes=15, seconds=1)
    assert not members.link_is_live(session=session, token=issued.token, now=late)
    with pytest.raises(InvalidInput, match="plus valable"):
        members.redeem(session=session, token=issued.token, ip="10.0.0.1", now=late)
    assert session.scalars(select(MemberSession)).all() == []


def test_links_from_the_bot_are_throttled_per_asker(session: Session) -> None:
    organisation_id = _organisation(session, domains=())
    asker_id = _telegram_asker(session, organisation_id)
    now = utcnow()
    for _ in range(members.PER_ASKER):
        members.link_for_asker(session=session, asker_id=asker_id, now=now)
    with pytest.raises(TooManyAttempts, match="patienter 15 minutes"):
        members.link_for_asker(session=session, asker_id=asker_id, now=now)
    # Another asker is not held back, and the window passes.
    other = Asker(full_name="Léa", organisation_id=organisation_id, telegram_user_id=910_002,
                  status=AskerStatus.APPROVED.value, created_at=utcnow())
    session.add(other)
    session.flush()
    members.link_for_asker(session=session, asker_id=other.id, now=now)
    members.link_for_asker(session=session, asker_id=asker_id,
                           now=now + timedelta(minutes=16))


def test_only_an_approved_asker_of_an_active_organisation_gets_a_link(
        session: Session) -> None:
    organisation_id = _organisation(session, domains=())
    pending = _telegram_asker(session, organisation_id, status=AskerStatus.PENDING.value)
    with pytest.raises(InvalidInput, match="réservé aux demandeurs validés"):
        members.link_for_asker(session=session, asker_id=pending)
    approved = Asker(full_name="Léa", organisation_id=organisation_id, telegram_user_id=910_003,
                     status=AskerStatus.APPROVED.value, created_at=utcnow())
    session.add(approved)
    session.flush()
    _deactivate(session, organisation_id)
    with pytest.raises(InvalidInput, match="réservé aux demandeurs validés"):
        members.link_for_asker(session=session, asker_id=approved.id)
    assert session.scalars(select(MemberLink)).all() == []


def test_refusing_the_asker_ends_their_session_and_their_links(session: Session) -> None:
    # The organisation's domain is declared: the asker's address alone no longer carries it.
    organisation_id = _organisation(session)
    bare = _telegram_asker(session, organisation_id)
    addressed = Asker(full_name="Claire", email="claire@habitat-test.fr",
                      organisation_id=organisation_id, telegram_user_id=910_004,
                      status=AskerStatus.APPROVED.value, created_at=utcnow())
    session.add(addressed)
    session.flush()
    opened = {}
    for asker_id in (bare, addressed.id):
        issued = members.link_for_asker(session=session, asker_id=asker_id)
        opened[asker_id] = members.redeem(session=session, token=issued.token, ip="1.2.3.4")[0]
    assert session.scalars(select(MemberSession.email).where(
        MemberSession.asker_id == addressed.id)).one() == "claire@habitat-test.fr"
    spare = {asker_id: members.link_for_asker(session=session, asker_id=asker_id)
             for asker_id in (bare, addressed.id)}
    for asker_id in (bare, addressed.id):
        askers.block(session=session, asker_id=asker_id, actor="test")
    session.flush()
    for asker_id in (bare, addressed.id):
        assert members.resolve(session=session, token=opened[asker_id]) is None
        with pytest.raises(InvalidInput, match="plus valable"):
            members.redeem(session=session, token=spare[asker_id].token, ip="1.2.3.4")
    assert all(row.revoked_at is not None for row in session.scalars(select(MemberSession)))


def test_an_inactive_organisation_ends_a_session_opened_from_the_bot(session: Session) -> None:
    organisation_id = _organisation(session, domains=())
    asker_id = _telegram_asker(session, organisation_id)
    issued = members.link_for_asker(session=session, asker_id=asker_id)
    token, _row = members.redeem(session=session, token=issued.token, ip="1.2.3.4")
    _deactivate(session, organisation_id)
    assert members.resolve(session=session, token=token) is None


def test_erasing_an_asker_signed_in_from_the_bot_renames_their_member_actor(
        session: Session) -> None:
    from knowledge.people import data_requests

    asker_id = _telegram_asker(session, _organisation(session, domains=()))
    issued = members.link_for_asker(session=session, asker_id=asker_id)
    members.redeem(session=session, token=issued.token, ip="1.2.3.4")
    members.link_for_asker(session=session, asker_id=asker_id)
    erased = data_requests.erase_asker(session=session, asker_id=asker_id, actor="test")
    assert erased.counts["member_access"] == 3  # two links, one session
    actors = set(session.scalars(select(AuditEvent.actor)))
    assert f"member:asker-{asker_id}" not in actors and f"asker:{asker_id}" in actors
