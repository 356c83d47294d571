"""Second factor through the web admin: enrolment, login with a code or a recovery code."""

from __future__ import annotations

import re
import secrets
import time

import pyotp
from admin_helpers import PASSWORD, SEALER, client_for, csrf_from, log_in, make_user
from sqlalchemy import select

from admin.config import AdminConfig
from knowledge.people.sealed_secrets import SecretSealer
from knowledge.runtime import Knowledge
from knowledge.store.models import User

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_CODES = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")


def _enrol(client, csrf: str) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    page = client.post("/account/second-factor/start", data={"csrf_token": csrf})
    assert page.status_code == 200 and "<svg" in page.text
    match = _SECRET.search(page.text)
    assert match
    secret = match.group(1)
    confirmed = client.post("/account/second-factor/confirm", data={
        "csrf_token": csrf, "password": PASSWORD,
        "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.text
    return secret, _CODES.findall(confirmed.text)


def _next_code(secret: str) -> str:
    """The next step's code: accepted (clock drift) and never the one used to enrol."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _password_step(client, login: str = "camille"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post("/login", data={"login": login, "password": PASSWORD,
                                       "csrf_token": csrf_from(page.text)})


def test_enrolled_account_needs_the_code_after_the_password(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        secret, codes = _enrol(client, log_in(client, "camille"))
        assert len(codes) == 10
        client.cookies.clear()
        step = _password_step(client)
        assert step.headers["location"].startswith("/login/second-factor")
        assert client.get("/queue").status_code == 303  # the pending session opens nothing
        form = client.get("/login/second-factor")
        wrong = client.post("/login/second-factor",
                            data={"csrf_token": csrf_from(form.text), "code": "000000"})
        right = client.post("/login/second-factor", data={
            "csrf_token": csrf_from(form.text), "code": _next_code(secret)})
        queue = client.get("/queue")
    assert wrong.status_code == 401 and "Code incorrect" in wrong.text
    assert right.status_code == 303 and queue.status_code == 200


def test_a_recovery_code_logs_in_once(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        _secret, codes = _enrol(client, log_in(client, "camille"))
        results = []
        for _ in range(2):
            client.cookies.clear()
            _password_step(client)
            form = client.get("/login/second-factor")
            results.append(client.post("/login/second-factor", data={
                "csrf_token": csrf_from(form.text), "code": codes[0]}).status_code)
        page = client.get("/account")
    assert results == [303, 401]
    assert page.status_code == 303  # the second attempt did not open a session


def test_second_factor_guesses_are_throttled(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        _enrol(client, log_in(client, "camille"))
        client.cookies.clear()
        _password_step(client)
        form = client.get("/login/second-factor")
        statuses = [client.post("/login/second-factor", data={
            "csrf_token": csrf_from(form.text), "code": f"{number:06d}"}).status_code
            for number in range(6)]
    assert 429 in statuses and statuses[0] == 401


def test_admins_must_enrol_when_the_setting_says_so(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    make_user(admin_knowledge, "camille")
    config = AdminConfig(second_factor_required="admins", secret_sealer=SEALER)
    with client_for(admin_knowledge, config) as admin, \
            client_for(admin_knowledge, config) as adviser:
        csrf = log_in(admin, "root")
        before = admin.get("/users")
        _enrol(admin, csrf)
        after = admin.get("/users")
        disable = admin.post("/account/second-factor/disable",
                             data={"csrf_token": csrf, "password": PASSWORD})
        log_in(adviser, "camille")
        adviser_queue = adviser.get("/queue")
    assert before.status_code == 303 and before.headers["location"].startswith("/account")
    assert after.status_code == 200
    assert disable.status_code == 409
    assert adviser_queue.status_code == 200  # advisers choose


def test_an_admin_removes_the_second_factor_of_an_account_that_lost_it(
        admin_knowledge: Knowledge) -> None:
    adviser_id = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as adviser, client_for(admin_knowledge) as admin:
        _enrol(adviser, log_in(adviser, "camille"))
        csrf = log_in(admin, "root")
        response = admin.post(f"/users/{adviser_id}/second-factor/disable",
                              data={"csrf_token": csrf, "admin_password": PASSWORD})
        adviser.cookies.clear()
        step = _password_step(adviser)
    assert response.status_code == 303
    assert step.headers["location"] == "/queue"


def test_turning_the_second_factor_on_ends_the_other_sessions(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as laptop, client_for(admin_knowledge) as phone:
        log_in(phone, "camille")
        _enrol(laptop, log_in(laptop, "camille"))
        assert phone.get("/queue").status_code == 303
        assert laptop.get("/queue").status_code == 200


def test_the_database_keeps_the_secret_sealed_under_the_configured_key(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        secret, _codes = _enrol(client, log_in(client, "camille"))
    with admin_knowledge.session() as session:
        stored = session.scalars(select(User.totp_secret).where(User.login == "camille")).one()
    assert stored is not None and stored.startswith(f"v1:{SEALER.key_id}:")
    assert secret not in stored and SEALER.open(stored) == secret


def test_a_server_without_a_key_refuses_to_enrol_and_says_why(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig()) as client:
        page = client.post("/account/second-factor/start",
                           data={"csrf_token": log_in(client, "camille")})
    assert page.status_code == 409 and "aucune clé de chiffrement" in page.text


def test_a_server_with_another_key_says_so_instead_of_refusing_the_code(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    other = AdminConfig(secret_sealer=SecretSealer([secrets.token_urlsafe(32)]))
    with client_for(admin_knowledge) as client:
        secret, _codes = _enrol(client, log_in(client, "camille"))
    with client_for(admin_knowledge, other) as client:
        _password_step(client)
        form = client.get("/login/second-factor")
        page = client.post("/login/second-factor", data={
            "csrf_token": csrf_from(form.text), "code": _next_code(secret)})
    assert page.status_code == 500
    assert f"autre clé (empreinte {SEALER.key_id})" in page.text
