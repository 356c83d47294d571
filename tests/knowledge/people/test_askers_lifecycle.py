"""Askers: registration, invite codes, approval, blocking, erasure."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from knowledge.desk import tickets
from knowledge.errors import Conflict, Forbidden, InvalidInput
from knowledge.people import askers, data_requests, organisations
from knowledge.store.models import AskerStatus, Outbox, OutboxKind, OutboxStatus, Ticket


def _org(session: Session, name: str = "Habitat 13") -> int:
    return organisations.create(session=session, name=name,
                                kind=organisations.parse_kind("oph"), departement="13",
                                actor="t").id


def _pending(session: Session, user_id: int = 10) -> int:
    return askers.register_pending(session=session, telegram_user_id=user_id, chat_id=user_id,
                                   telegram_username="u", full_name="  Marie   Durand ",
                                   email="Marie@Org.FR", organisation_id=_org(session)).id


def test_registration_is_pending_with_cleaned_name_and_email(session: Session) -> None:
    asker = askers.get(session=session, asker_id=_pending(session))
    assert (asker.full_name, asker.email, asker.status) == (
        "Marie Durand", "marie@org.fr", AskerStatus.PENDING.value)
    assert asker.consent_at is not None
    assert not askers.can_ask(asker)


@pytest.mark.parametrize("email", ["", "marie", "marie@org", "a b@org.fr", "x@@org.fr"])
def test_invalid_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidInput):
        askers.validate_email(email)


def test_registering_twice_is_a_conflict(session: Session) -> None:
    _pending(session)
    with pytest.raises(Conflict):
        askers.register_pending(session=session, telegram_user_id=10, chat_id=10,
                                telegram_username=None, full_name="Autre Nom",
                                email="a@b.fr", organisation_id=_org(session, "Autre"))


def test_invite_code_approves_at_once_and_old_codes_stop_working(session: Session) -> None:
    org_id = _org(session)
    old = organisations.new_invite_code(session=session, organisation_id=org_id, actor="t")
    new = organisations.new_invite_code(session=session, organisation_id=org_id, actor="t")
    with pytest.raises(InvalidInput):
        askers.register_with_invite(session=session, code=old, telegram_user_id=1, chat_id=1,
                                    telegram_username=None, full_name="Jean")
    asker = askers.register_with_invite(session=session, code=new, telegram_user_id=1,
                                        chat_id=1, telegram_username=None,
                                        full_name="Jean Martin")
    assert asker.status == AskerStatus.APPROVED.value and asker.organisation_id == org_id


def test_approval_queues_a_message_once(session: Session) -> None:
    asker_id = _pending(session)
    askers.approve(session=session, asker_id=asker_id, actor="claire")
    askers.approve(session=session, asker_id=asker_id, actor="claire")
    rows = session.query(Outbox).all()
    assert [(r.kind, r.chat_id) for r in rows] == [(OutboxKind.REGISTRATION.value, 10)]
    assert "validée" in rows[0].text


def test_blocked_asker_cannot_submit(session: Session) -> None:
    asker_id = _pending(session)
    askers.approve(session=session, asker_id=asker_id, actor="t")
    askers.block(session=session, asker_id=asker_id, actor="t", reason="abus")
    with pytest.raises(Forbidden):
        tickets.submit(session=session, asker_id=asker_id, text="Question ?")
    assert askers.list_askers(session=session, status="blocked")[0].id == asker_id


def test_erasure_clears_personal_data_cancels_pending_messages_and_keeps_tickets(
        session: Session) -> None:
    asker_id = _pending(session)
    askers.approve(session=session, asker_id=asker_id, actor="t")
    ticket = tickets.submit(session=session, asker_id=asker_id, text="Question ?")
    data_requests.erase_asker(session=session, asker_id=asker_id, actor="asker")
    asker = askers.get(session=session, asker_id=asker_id)
    assert (asker.full_name, asker.email, asker.telegram_user_id, asker.chat_id) == (
        None, None, None, None)
    assert asker.status == AskerStatus.ERASED.value
    assert session.get(Ticket, ticket.id) is not None
    assert {r.status for r in session.query(Outbox)} == {OutboxStatus.FAILED.value}
    with pytest.raises(Conflict):
        askers.approve(session=session, asker_id=asker_id, actor="t")


def test_invite_codes_can_be_dictated_and_typed_loosely(session: Session) -> None:
    org_id = _org(session)
    codes = {organisations.new_invite_code(session=session, organisation_id=org_id, actor="t")
             for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4], code
        assert set("".join(groups)) <= set(organisations.INVITE_ALPHABET), code
    assert not set(organisations.INVITE_ALPHABET) & set("0O1IL5S2Z8B")
    code = organisations.new_invite_code(session=session, organisation_id=org_id, actor="t")
    typed = code.lower().replace("-", " ")  # as read over the phone
    asker = askers.register_with_invite(session=session, code=f"  {typed} ", telegram_user_id=2,
                                        chat_id=2, telegram_username=None, full_name="Jean")
    assert asker.organisation_id == org_id


def test_a_code_made_before_dictatable_codes_still_works(session: Session) -> None:
    org_id = _org(session)
    organisations.get(session=session, organisation_id=org_id).invite_code = "aB3_x-Yz9Qw1"
    asker = askers.register_with_invite(session=session, code="aB3_x-Yz9Qw1", telegram_user_id=3,
                                        chat_id=3, telegram_username=None, full_name="Jean")
    assert asker.organisation_id == org_id
