"""Builders shared by the help-centre tests: a member signed in through the services."""

from __future__ import annotations

from admin_helpers import make_asker
from fastapi.testclient import TestClient

from knowledge.people import members, organisations
from knowledge.runtime import Knowledge

ORGANISATION = "Habitat Test"
DOMAIN = "habitat-test.fr"


def sign_in_member(knowledge: Knowledge, client: TestClient,
                   email: str = f"claire@{DOMAIN}") -> str:
    """Declare the test organisation's domain, sign a member in (the link flow has its own
    tests) and give the client their cookie; return the session token."""
    with knowledge.session() as session:
        known = organisations.find_by_name(session=session, name=ORGANISATION) is not None
    if not known:
        make_asker(knowledge)  # creates the organisation
    with knowledge.session() as session:
        organisation = organisations.get_by_name(session=session, name=ORGANISATION)
        if DOMAIN not in (organisation.email_domains or []):
            members.set_domains(session=session, organisation_id=organisation.id,
                                domains=[DOMAIN], actor="test")
        issued = members.request_link(session=session, email=email, ip="10.0.0.1")
        assert issued is not None
        token, _row = members.redeem(session=session, token=issued.token, ip="10.0.0.1")
    client.cookies.set("svp_aide", token)
    return token
