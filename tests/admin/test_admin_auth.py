"""Login, sessions, CSRF and the login rate limit of the web admin."""

from __future__ import annotations

from admin_helpers import PASSWORD, client_for, csrf_from, log_in, make_user
from sqlalchemy import select

from admin.config import AdminConfig
from knowledge.people.throttle import LoginLimits
from knowledge.runtime import Knowledge
from knowledge.store.models import WebSession


def test_login_opens_a_session_and_shows_the_queue(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/queue")
    assert page.status_code == 200
    assert "File d'attente" in page.text


def test_cookie_token_is_stored_only_as_a_hash(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        token = client.cookies.get("svp_session")
    with admin_knowledge.session() as session:
        ids = list(session.scalars(select(WebSession.id)))
    assert token and ids and token not in ids


def test_session_cookie_is_httponly_lax_and_secure_when_configured(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(secure_cookies=True),
                    base_url="https://testserver") as client:
        page = client.get("/login")
        response = client.post("/login", data={"login": "camille", "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
    cookie = response.headers["set-cookie"].lower()
    assert "svp_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_wrong_password_is_refused_in_french(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        page = client.get("/login")
        response = client.post("/login", data={"login": "camille", "password": "mauvais",
                                               "csrf_token": csrf_from(page.text)})
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect" in response.text
        assert client.get("/queue").status_code == 303


def test_login_rate_limit_per_account_answers_429_in_french(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    config = AdminConfig(login_limits=LoginLimits(per_ip=100, per_account_address=3))
    with client_for(admin_knowledge, config) as client:
        token = csrf_from(client.get("/login").text)
        for _ in range(3):
            client.post("/login", data={"login": "camille", "password": "non",
                                        "csrf_token": token})
        # Even the right password is refused while the account is throttled.
        response = client.post("/login", data={"login": "camille", "password": PASSWORD,
                                               "csrf_token": token})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text
    assert "svp_session" not in response.headers.get("set-cookie", "")


def test_login_rate_limit_per_address_covers_every_account(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    config = AdminConfig(login_limits=LoginLimits(per_ip=4, per_account_address=100))
    with client_for(admin_knowledge, config) as client:
        token = csrf_from(client.get("/login").text)
        for number in range(4):
            client.post("/login", data={"login": f"inconnu{number}", "password": "x",
                                        "csrf_token": token})
        response = client.post("/login", data={"login": "camille", "password": PASSWORD,
                                               "csrf_token": token})
    assert response.status_code == 429


def test_login_without_csrf_token_is_refused(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        client.get("/login")
        response = client.post("/login", data={"login": "camille", "password": PASSWORD})
    assert response.status_code == 403
    assert "jeton de sécurité" in response.text


def test_post_without_or_with_wrong_csrf_token_changes_nothing(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        missing = client.post("/organisations", data={"name": "Sans jeton", "kind": "oph"})
        wrong = client.post("/organisations", data={"name": "Faux jeton", "kind": "oph",
                                                    "csrf_token": "faux"})
        listing = client.get("/organisations").text
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "Sans jeton" not in listing and "Faux jeton" not in listing


def test_logout_revokes_the_session(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        stolen = client.cookies.get("svp_session")
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
        client.cookies.set("svp_session", stolen or "")
        assert client.get("/queue").status_code == 303  # the old token no longer works


def test_password_change_revokes_every_session(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as first, client_for(admin_knowledge) as second:
        csrf = log_in(first, "camille")
        log_in(second, "camille")
        response = first.post("/account/password", data={
            "csrf_token": csrf, "current_password": PASSWORD,
            "new_password": "un autre mot de passe", "new_password_again":
                "un autre mot de passe"})
        assert response.status_code == 303
        assert first.get("/queue").status_code == 303
        assert second.get("/queue").status_code == 303
        log_in(second, "camille", "un autre mot de passe")


def test_disabling_an_account_ends_its_sessions(admin_knowledge: Knowledge) -> None:
    adviser_id = make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as adviser, client_for(admin_knowledge) as admin:
        log_in(adviser, "camille")
        csrf = log_in(admin, "root")
        assert admin.post(f"/users/{adviser_id}/disable",
                          data={"csrf_token": csrf}).status_code == 303
        assert adviser.get("/queue").status_code == 303
        page = adviser.get("/login")
        response = adviser.post("/login", data={"login": "camille", "password": PASSWORD,
                                                "csrf_token": csrf_from(page.text)})
    assert response.status_code == 401


def test_login_redirects_only_to_local_pages(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        page = client.get("/login")
        response = client.post("/login", data={"login": "camille", "password": PASSWORD,
                                               "next": "//evil.example/",
                                               "csrf_token": csrf_from(page.text)})
    assert response.headers["location"] == "/queue"
