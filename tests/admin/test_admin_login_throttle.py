"""Login throttling without lockout, and re-authentication before password changes."""

from __future__ import annotations

from admin_helpers import PASSWORD, client_for, csrf_from, log_in, make_user
from sqlalchemy import select

from admin.config import AdminConfig
from knowledge.people.throttle import LoginLimits
from knowledge.runtime import Knowledge
from knowledge.store.models import User

# A tiny delay so the growing slow-down does not slow the test suite.
FAST = LoginLimits(per_account_address=5, per_ip=20, window_minutes=15, delay_after=3,
                   delay_base_seconds=0.01, delay_max_seconds=0.05)


def _wrong_logins(client, login: str, times: int) -> list[int]:  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").text)
    return [client.post("/login", data={"login": login, "password": "pas le bon",
                                        "csrf_token": token}).status_code
            for _ in range(times)]


def test_wrong_logins_from_another_address_do_not_lock_the_owner_out(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    config = AdminConfig(login_limits=FAST)
    with client_for(admin_knowledge, config, address="10.0.0.66") as attacker, \
            client_for(admin_knowledge, config, address="10.0.0.1") as owner:
        statuses = _wrong_logins(attacker, "camille", 12)
        page = owner.get("/login")
        response = owner.post("/login", data={"login": "camille", "password": PASSWORD,
                                              "csrf_token": csrf_from(page.text)})
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert response.status_code == 303 and response.headers["location"] == "/queue"


def test_the_attacking_address_stays_refused_even_with_the_right_password(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(login_limits=FAST),
                    address="10.0.0.66") as attacker:
        _wrong_logins(attacker, "camille", 5)
        token = csrf_from(attacker.get("/login").text)
        response = attacker.post("/login", data={"login": "camille", "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 429 and "Trop de tentatives" in response.text


def test_changing_ones_password_is_throttled(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge, AdminConfig(login_limits=FAST)) as client:
        csrf = log_in(client, "camille")
        statuses = [client.post("/account/password", data={
            "csrf_token": csrf, "current_password": f"essai {number}",
            "new_password": "une phrase assez solide",
            "new_password_again": "une phrase assez solide"}).status_code
            for number in range(7)]
        right = client.post("/account/password", data={
            "csrf_token": csrf, "current_password": PASSWORD,
            "new_password": "une phrase assez solide",
            "new_password_again": "une phrase assez solide"})
    assert statuses[:4] == [422] * 4 and statuses[-1] == 429
    assert right.status_code == 429  # even the right one, from this address, for a while


def test_an_admin_resets_a_password_only_after_typing_their_own(
        admin_knowledge: Knowledge) -> None:
    adviser_id = make_user(admin_knowledge, "camille")
    admin_id = make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as admin:
        csrf = log_in(admin, "root")
        missing = admin.post(f"/users/{adviser_id}/password",
                             data={"csrf_token": csrf, "password": "une phrase assez solide"})
        wrong = admin.post(f"/users/{adviser_id}/password",
                           data={"csrf_token": csrf, "password": "une phrase assez solide",
                                 "admin_password": "pas le mien"})
        own = admin.post(f"/users/{admin_id}/password",
                         data={"csrf_token": csrf, "password": "une phrase assez solide",
                               "admin_password": PASSWORD})
        right = admin.post(f"/users/{adviser_id}/password",
                           data={"csrf_token": csrf, "password": "une phrase assez solide",
                                 "admin_password": PASSWORD})
    assert missing.status_code == 422 and wrong.status_code == 422
    assert "mot de passe actuel est incorrect" in wrong.text
    assert own.status_code == 409
    assert right.status_code == 303
    with admin_knowledge.session() as session:
        changed = session.scalars(select(User.password_changed_at).order_by(User.id)).all()
    assert changed[0] > changed[1]  # the adviser's changed, the admin's did not


def test_a_weak_password_is_refused_in_french_with_the_reason(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as admin:
        csrf = log_in(admin, "root")
        response = admin.post("/users", data={"csrf_token": csrf, "login": "dominique",
                                              "password": "azertyuiop", "role": "adviser"})
    assert response.status_code == 422
    assert "trop facile à deviner" in response.text and "courant" in response.text
