"""Help centre sign-in (issue 23, point 2): one-time links through a real SMTP server,
single use, 15 minutes, throttled, never saying whether an address is known; a member session
opens no admin or API route."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from admin_helpers import SEALER, client_for, log_in, make_asker, make_user
from mail_server import Mailbox, body_of, smtp_server

from admin.config import AdminConfig, HelpConfig
from knowledge.people import members, organisations
from knowledge.runtime import Knowledge
from knowledge.store.member_models import MemberLink, MemberSession
from knowledge.store.models import Asker
from knowledge.timeutil import utcnow
from mail.smtp import SmtpSettings
from svp.mailwiring import mail_sender

LINK = re.compile(r"http://testserver(/aide/lien/[A-Za-z0-9_%-]+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def mail() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as server:
        yield server


def _config(port: int) -> AdminConfig:
    return AdminConfig(secret_sealer=SEALER, base_url="http://testserver",
                       help=HelpConfig(send_mail=mail_sender(SmtpSettings(
                           host="127.0.0.1", port=port, security="none",
                           sender="SVP <svp@svp.example>"))))


def _member_domain(knowledge: Knowledge, domain: str = "habitat-test.fr") -> None:
    make_asker(knowledge)  # creates « Habitat Test »
    with knowledge.session() as session:
        organisation = organisations.get_by_name(session=session, name="Habitat Test")
        members.set_domains(session=session, organisation_id=organisation.id,
                            domains=[domain], actor="test")


def _ask_link(client: TestClient, email: str) -> int:
    form = client.get("/aide/connexion")
    token = CSRF.search(form.text)
    assert token, form.text
    return client.post("/aide/connexion", data={"email": email,
                                                 "csrf_token": token.group(1)}).status_code


def _sign_in(client: TestClient, path: str) -> int:
    page = client.get(path)
    if page.status_code == 410:  # a dead link says so when opened, and signs nobody in
        assert "Ce lien de connexion n&#39;est plus valable" in page.text
        return 410
    assert page.status_code == 200 and "Me connecter" in page.text
    token = CSRF.search(page.text)
    assert token
    link = path.rsplit("/", 1)[1]
    response = client.post("/aide/lien", data={"token": link, "csrf_token": token.group(1)})
    if response.status_code == 410:
        assert "Ce lien de connexion n&#39;est plus valable" in response.text
    return response.status_code


def _signed_in_by_mail(client: TestClient, box: Mailbox, email: str) -> None:
    """Ask for a link, read it from the mail server, sign in with it."""
    sent = len(box.messages)
    assert _ask_link(client, email) == 200
    match = LINK.search(body_of(box.wait_for(sent + 1)[-1]))
    assert match and _sign_in(client, match.group(1)) == 303


def test_a_member_signs_in_with_the_link_once(admin_knowledge: Knowledge,
                                              mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        assert client.get("/aide").headers["location"] == "/aide/connexion?next=%2Faide"
        response_code = _ask_link(client, "Claire.Martin@Habitat-Test.fr ")
        assert response_code == 200
        [message] = box.wait_for(1)
        assert message["To"] == "claire.martin@habitat-test.fr"
        assert message["Subject"] == "Votre lien de connexion au centre d'aide du SVP"
        body = body_of(message)
        assert "valable que 15 minutes" in body
        match = LINK.search(body)
        assert match, body
        # Opening the link shows a button: a mail scanner's visit uses nothing.
        assert client.get(match.group(1)).status_code == 200
        assert _sign_in(client, match.group(1)) == 303
        home = client.get("/aide")
        assert home.status_code == 200 and "claire.martin@habitat-test.fr" in home.text
        assert "Habitat Test" in home.text

    with client_for(admin_knowledge, _config(port)) as other:  # the link again: refused
        assert _sign_in(other, match.group(1)) == 410
        token = CSRF.search(other.get("/aide/connexion").text)
        assert token  # straight to the form's target, the page skipped: refused too
        assert other.post("/aide/lien", data={"token": match.group(1).rsplit("/", 1)[1],
                                              "csrf_token": token.group(1)}).status_code == 410
        assert other.get("/aide").status_code == 303


def test_an_approved_asker_s_address_signs_in_too(admin_knowledge: Knowledge,
                                                  mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    asker_id = make_asker(admin_knowledge)
    with admin_knowledge.session() as session:
        asker = session.get(Asker, asker_id)
        assert asker is not None
        asker.email = "j.dupont@gmail.example"
    with client_for(admin_knowledge, _config(port)) as client:
        _signed_in_by_mail(client, box, "j.dupont@gmail.example")
    with admin_knowledge.session() as session:
        row = session.scalars(select(MemberSession)).one()
        assert row.asker_id == asker_id


def test_unknown_address_gets_the_same_page_and_no_mail(admin_knowledge: Knowledge,
                                                       mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        pages = []
        for email in ("inconnu@ailleurs.example", "claire@habitat-test.fr"):
            form = client.get("/aide/connexion")
            token = CSRF.search(form.text)
            assert token
            pages.append(client.post("/aide/connexion", data={
                "email": email, "csrf_token": token.group(1)}).text.replace(email, "X"))
        assert pages[0] == pages[1]
        assert len(box.wait_for(1)) == 1
    assert [message["To"] for message in box.messages] == ["claire@habitat-test.fr"]


def test_an_expired_link_is_refused(admin_knowledge: Knowledge,
                                    mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        _ask_link(client, "claire@habitat-test.fr")
        match = LINK.search(body_of(box.wait_for(1)[0]))
        assert match
        with admin_knowledge.session() as session:
            session.execute(update(MemberLink).values(
                expires_at=utcnow() - timedelta(seconds=1)))
        assert _sign_in(client, match.group(1)) == 410
        assert client.get("/aide").status_code == 303


def test_a_hundred_requests_from_one_address_are_throttled_and_send_nothing(
        admin_knowledge: Knowledge, mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        codes = [_ask_link(client, f"inconnu{number}@ailleurs.example")
                 for number in range(100)]
        assert codes[:members.PER_IP] == [200] * members.PER_IP
        assert set(codes[members.PER_IP:]) == {429}
        # Throttled, a member's own address is refused from there too: nothing is sent.
        assert _ask_link(client, "claire@habitat-test.fr") == 429
    assert box.wait_for(1, timeout=1.0) == []


def test_a_member_session_opens_no_admin_or_api_route(admin_knowledge: Knowledge,
                                                      mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        _signed_in_by_mail(client, box, "claire@habitat-test.fr")
        assert client.get("/aide").status_code == 200
        for path in ("/queue", "/kb", "/stats", "/account", "/users", "/audit",
                     "/organisations", "/tickets/1"):
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith(
                "/login"), path
        assert client.get("/api/v1/entries").status_code == 401
        assert client.get("/metrics").status_code == 401
        # The admin's headers and content security policy apply to the help centre.
        headers = client.get("/aide").headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"


def test_a_form_without_its_token_is_refused(admin_knowledge: Knowledge,
                                             mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        client.get("/aide/connexion")
        assert client.post("/aide/connexion",
                           data={"email": "claire@habitat-test.fr"}).status_code == 403
        assert box.wait_for(1, timeout=1.0) == []


def test_a_member_whose_organisation_leaves_is_signed_out(admin_knowledge: Knowledge,
                                                          mail: tuple[int, Mailbox]) -> None:
    port, box = mail
    _member_domain(admin_knowledge)
    with client_for(admin_knowledge, _config(port)) as client:
        _signed_in_by_mail(client, box, "claire@habitat-test.fr")
        with admin_knowledge.session() as session:
            organisation = organisations.get_by_name(session=session, name="Habitat Test")
            organisation.active = False
        assert client.get("/aide").status_code == 303


def test_advisers_declare_an_organisation_s_mail_domains_once(
        admin_knowledge: Knowledge) -> None:
    make_asker(admin_knowledge)
    make_asker(admin_knowledge, organisation="Logis Sud")
    make_user(admin_knowledge, "camille")
    with admin_knowledge.session() as session:
        first = organisations.get_by_name(session=session, name="Habitat Test").id
        second = organisations.get_by_name(session=session, name="Logis Sud").id
    with client_for(admin_knowledge) as client:
        token = log_in(client, "camille")
        form = {"name": "Habitat Test", "kind": "oph", "departement": "13", "active": "1",
                "csrf_token": token}
        saved = client.post(f"/organisations/{first}",
                            data={**form, "email_domains": "Habitat-Test.fr\n@ht13.fr, "})
        assert saved.status_code == 303
        assert "habitat-test.fr\nht13.fr</textarea>" in client.get(f"/organisations/{first}").text
        taken = client.post(f"/organisations/{second}", data={
            **form, "name": "Logis Sud", "email_domains": "ht13.fr"})
        assert taken.status_code == 409
        assert "déjà celui de l&#39;organisme « Habitat Test »" in taken.text
        wrong = client.post(f"/organisations/{second}", data={
            **form, "name": "Logis Sud", "email_domains": "pas un domaine"})
        assert wrong.status_code == 422
    with admin_knowledge.session() as session:
        assert organisations.get(session=session, organisation_id=second).email_domains == []
