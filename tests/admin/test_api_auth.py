"""JSON API: bearer tokens, scopes, revocation, expiry, rate limit, and the audit of writes."""

from __future__ import annotations

import pytest
from admin_helpers import client_for, log_in, make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import select

from admin.config import AdminConfig
from knowledge.people import advisers, api_tokens
from knowledge.runtime import Knowledge
from knowledge.store.api_models import ApiToken
from knowledge.store.models import AuditEvent, TicketMessage
from knowledge.timeutil import utcnow

WRITES = [
    ("post", "/api/v1/entries", {"question": "Q ?", "answer": "R."}),
    ("patch", "/api/v1/entries/1", {"answer": "R."}),
    ("post", "/api/v1/entries/1/retire", {}),
    ("post", "/api/v1/tickets/1/answer", {"answer": "R."}),
    ("post", "/api/v1/tickets/1/note", {"text": "note"}),
]


def _error(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "svp_abc",
                                    "Bearer svp_inconnu"])
def test_a_call_without_a_valid_token_gets_401_in_json(admin_knowledge: Knowledge,
                                                       header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    with api_client(admin_knowledge) as client:
        response = client.get("/api/v1/entries", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert _error(response)["code"] == "unauthorized"


def test_a_read_token_reads_but_every_write_gets_403(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    secret = make_token(admin_knowledge, "camille", scope="read")
    ticket_id = make_ticket(admin_knowledge, "Une question")
    with api_client(admin_knowledge) as client:
        assert client.get("/api/v1/entries", headers=bearer(secret)).status_code == 200
        assert client.get(f"/api/v1/tickets/{ticket_id}",
                          headers=bearer(secret)).status_code == 200
        for method, path, body in WRITES:
            response = client.request(method, path.replace("/1", f"/{ticket_id}"),
                                      json=body, headers=bearer(secret))
            assert response.status_code == 403, (path, response.text)
            assert "lecture seule" in _error(response)["message"]
    with admin_knowledge.session() as session:
        assert session.scalars(select(TicketMessage).where(
            TicketMessage.kind == "internal_note")).all() == []
        # Calls of a read token are not written to the audit log (only its last use).
        assert session.scalars(select(AuditEvent).where(
            AuditEvent.action == "api.call")).all() == []
        assert session.scalars(select(ApiToken)).one().last_used_at is not None


def test_revoked_expired_and_disabled_tokens_get_401(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    revoked = make_token(admin_knowledge, "camille", name="révoqué")
    expired = make_token(admin_knowledge, "camille", expires_days=1, name="expiré")
    with admin_knowledge.session() as session:
        tokens = {t.name: t for t in api_tokens.list_tokens(session=session)}
        api_tokens.revoke(session=session, token_id=tokens["révoqué"].id, actor="test")
        tokens["expiré"].expires_at = utcnow()
    with api_client(admin_knowledge) as client:
        for secret, word in ((revoked, "révoqué"), (expired, "expiré")):
            response = client.get("/api/v1/entries", headers=bearer(secret))
            assert response.status_code == 401 and word in _error(response)["message"]
        live = make_token(admin_knowledge, "camille", name="actif")
        assert client.get("/api/v1/entries", headers=bearer(live)).status_code == 200
        with admin_knowledge.session() as session:
            user = advisers.get_by_login(session=session, login="camille")
            advisers.disable(session=session, user_id=user.id, actor="test")
        response = client.get("/api/v1/entries", headers=bearer(live))
    assert response.status_code == 401 and "désactivé" in _error(response)["message"]


def test_bearer_calls_need_no_cookie_nor_csrf_and_a_session_cookie_is_not_enough(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    secret = make_token(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Une question")
    with api_client(admin_knowledge) as client:
        response = client.post(f"/api/v1/tickets/{ticket_id}/note", json={"text": "Vu."},
                               headers=bearer(secret))
        assert response.status_code == 201, response.text
        assert not response.cookies
    with client_for(admin_knowledge) as browser:
        log_in(browser, "camille")
        # A logged-in browser (cookie) cannot use the API: a forged page cannot either.
        assert browser.get("/api/v1/entries").status_code == 401


def test_each_token_is_limited_per_minute_with_retry_after(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    first = make_token(admin_knowledge, "camille", name="un")
    second = make_token(admin_knowledge, "camille", name="deux")
    with api_client(admin_knowledge, AdminConfig(api_rate_per_minute=3)) as client:
        codes = [client.get("/api/v1/entries", headers=bearer(first)).status_code
                 for _ in range(5)]
        limited = client.get("/api/v1/entries", headers=bearer(first))
        other = client.get("/api/v1/entries", headers=bearer(second))
    assert codes == [200, 200, 200, 429, 429]
    assert limited.status_code == 429 and _error(limited)["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code == 200  # the limit is per token


def test_every_call_of_a_write_token_is_audited_without_the_token(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    secret = make_token(admin_knowledge, "camille")
    ticket_id = make_ticket(admin_knowledge, "Une question")
    with api_client(admin_knowledge) as client:
        assert client.get("/api/v1/entries", headers=bearer(secret)).status_code == 200
        assert client.post(f"/api/v1/tickets/{ticket_id}/note", json={"text": "Vu."},
                           headers=bearer(secret)).status_code == 201
        assert client.post(f"/api/v1/tickets/{ticket_id}/note", json={"text": "  "},
                           headers=bearer(secret)).status_code == 422
        assert client.get("/api/v1/entries/999", headers=bearer(secret)).status_code == 404
    with admin_knowledge.session() as session:
        calls = session.scalars(select(AuditEvent).where(AuditEvent.action == "api.call")
                                .order_by(AuditEvent.id)).all()
        note = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "ticket.note")).one()
        everything = " ".join(str(e.details) for e in session.scalars(select(AuditEvent)))
    assert [(c.details["method"], c.details["path"], c.details["status"]) for c in calls] == [
        ("GET", "/api/v1/entries", 200),
        ("POST", f"/api/v1/tickets/{ticket_id}/note", 201),
        ("POST", f"/api/v1/tickets/{ticket_id}/note", 422),
        ("GET", "/api/v1/entries/999", 404)]
    assert {c.actor for c in calls} == {"user:camille"} and note.actor == "user:camille"
    assert secret not in everything and secret[12:20] not in everything
