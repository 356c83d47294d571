"""Sessions: inactivity timeout, the list of one's sessions, re-login, `__Host-` cookies."""

from __future__ import annotations

import re
from datetime import timedelta

from admin_helpers import PASSWORD, client_for, csrf_from, log_in, make_user
from sqlalchemy import select, update

from admin.config import AdminConfig
from knowledge.runtime import Knowledge
from knowledge.store.models import WebSession
from knowledge.timeutil import utcnow

_CLOSE = re.compile(r'action="/account/sessions/([0-9a-f]+)/close"')


def test_an_idle_session_ends(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(session_idle_minutes=30)) as client:
        log_in(client, "camille")
        assert client.get("/queue").status_code == 200
        with admin_knowledge.session() as session:
            session.execute(update(WebSession).values(
                last_seen_at=utcnow() - timedelta(minutes=31)))
        assert client.get("/queue").status_code == 303
    with admin_knowledge.session() as session:
        assert session.scalars(select(WebSession.revoked_at)).one() is not None


def test_an_active_session_is_kept_alive(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(session_idle_minutes=30)) as client:
        log_in(client, "camille")
        with admin_knowledge.session() as session:
            session.execute(update(WebSession).values(
                last_seen_at=utcnow() - timedelta(minutes=29)))
        assert client.get("/queue").status_code == 200
        with admin_knowledge.session() as session:
            session.execute(update(WebSession).values(
                created_at=utcnow() - timedelta(minutes=40)))
        assert client.get("/queue").status_code == 200


def test_one_lists_ones_sessions_and_closes_another(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "dominique")
    with client_for(admin_knowledge) as laptop, client_for(admin_knowledge) as phone, \
            client_for(admin_knowledge) as other:
        log_in(phone, "camille")
        other_csrf = log_in(other, "dominique")
        csrf = log_in(laptop, "camille")
        page = laptop.get("/account").text
        [phone_session] = _CLOSE.findall(page)  # this session has no button
        assert "Cette session" in page
        stolen = other.post(f"/account/sessions/{phone_session}/close",
                            data={"csrf_token": other_csrf, "password": PASSWORD})
        unchecked = laptop.post(f"/account/sessions/{phone_session}/close",
                                data={"csrf_token": csrf, "password": "pas le bon"})
        assert phone.get("/queue").status_code == 200
        closed = laptop.post(f"/account/sessions/{phone_session}/close",
                             data={"csrf_token": csrf, "password": PASSWORD})
        assert phone.get("/queue").status_code == 303
        assert laptop.get("/queue").status_code == 200
    assert stolen.status_code == 404 and unchecked.status_code == 422
    assert closed.status_code == 303


def test_an_admin_ends_every_session_of_an_account(admin_knowledge: Knowledge) -> None:
    adviser_id = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as adviser, client_for(admin_knowledge) as admin:
        log_in(adviser, "camille")
        csrf = log_in(admin, "root")
        response = admin.post(f"/users/{adviser_id}/sessions/close",
                              data={"csrf_token": csrf, "admin_password": PASSWORD})
        assert response.status_code == 303
        assert adviser.get("/queue").status_code == 303
        assert admin.get("/queue").status_code == 200


def test_logging_in_again_ends_the_browsers_old_session(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        old = client.cookies.get("svp_session")
        log_in(client, "camille")
        new = client.cookies.get("svp_session")
        assert old and new and old != new
        client.cookies.clear()
        client.cookies.set("svp_session", old)
        assert client.get("/queue").status_code == 303
        client.cookies.clear()
        client.cookies.set("svp_session", new)
        assert client.get("/queue").status_code == 200
    with admin_knowledge.session() as session:
        assert len(session.scalars(select(WebSession).where(
            WebSession.revoked_at.is_(None))).all()) == 1


def test_secure_cookies_carry_the_host_prefix(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(secure_cookies=True),
                    base_url="https://testserver") as client:
        page = client.get("/login")
        login_cookie = page.headers["set-cookie"]
        response = client.post("/login", data={"login": "camille", "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
        session_cookie = response.headers["set-cookie"]
        queue = client.get("/queue")
    assert login_cookie.startswith("__Host-svp_login_csrf=")
    assert session_cookie.startswith("__Host-svp_session=")
    for cookie in (login_cookie, session_cookie):
        lowered = cookie.lower()
        assert "secure" in lowered and "path=/" in lowered and "domain" not in lowered
    assert queue.status_code == 200
