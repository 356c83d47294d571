"""JSON API: malformed, oversized and unexpected requests get a JSON error, never HTML."""

from __future__ import annotations

import json

import pytest
from admin_helpers import make_ticket, make_user
from api_helpers import api_client, bearer, make_token
from sqlalchemy import func, select

from admin.api.limits import MAX_BODY_BYTES, MAX_QUERY_BYTES
from knowledge.desk import notes
from knowledge.runtime import Knowledge
from knowledge.store.models import AuditEvent, TicketMessage


def _json_error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert "<html" not in response.text.lower()  # type: ignore[attr-defined]
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def setup(admin_knowledge: Knowledge) -> tuple[dict[str, str], int]:
    make_user(admin_knowledge, "camille")
    return bearer(make_token(admin_knowledge, "camille")), make_ticket(admin_knowledge, "Q ?")


def _notes(knowledge: Knowledge) -> int:
    with knowledge.session() as session:
        return int(session.scalar(select(func.count()).select_from(TicketMessage).where(
            TicketMessage.kind == "internal_note")) or 0)


def test_malformed_bodies_are_refused_in_french(admin_knowledge: Knowledge,
                                                setup: tuple[dict[str, str], int]) -> None:
    auth, ticket_id = setup
    path = f"/api/v1/tickets/{ticket_id}/note"
    with api_client(admin_knowledge) as client:
        broken = client.post(path, headers={**auth, "Content-Type": "application/json"},
                             content=b'{"text": "sans fin')
        unknown = client.post(path, headers=auth, json={"text": "Vu.", "urgent": True})
        missing = client.post(path, headers=auth, json={})
        wrong_type = client.post(path, headers=auth, json={"text": 12})
        a_list = client.post(path, headers=auth, json=["Vu."])
        a_form = client.post(path, headers=auth, data={"text": "Vu."})
        not_utf8 = client.post(path, headers={**auth, "Content-Type": "application/json"},
                               content=b'{"text": "\xff\xfe"}')
        surrogate = client.post(path, headers={**auth, "Content-Type": "application/json"},
                                content=b'{"text": "\\ud800"}')
    assert "JSON invalide" in str(_json_error(broken, 422)["message"])
    assert _json_error(unknown, 422)["fields"] == [{"field": "urgent",
                                                    "message": "champ inconnu"}]
    assert _json_error(missing, 422)["fields"] == [{"field": "text",
                                                    "message": "champ obligatoire absent"}]
    assert _json_error(wrong_type, 422)["fields"] == [{"field": "text",
                                                       "message": "texte attendu"}]
    for response in (a_list, a_form, surrogate):
        _json_error(response, 422)
    assert "JSON" in str(_json_error(not_utf8, 400)["message"])
    assert _notes(admin_knowledge) == 0


def test_oversized_bodies_and_query_strings_are_refused_before_reading(
        admin_knowledge: Knowledge, setup: tuple[dict[str, str], int]) -> None:
    auth, ticket_id = setup
    path = f"/api/v1/tickets/{ticket_id}/note"
    huge = json.dumps({"text": "x" * MAX_BODY_BYTES}).encode()

    def chunks() -> object:
        for start in range(0, len(huge), 65_536):
            yield huge[start:start + 65_536]

    with api_client(admin_knowledge) as client:
        declared = client.post(path, headers={**auth, "Content-Type": "application/json"},
                               content=huge)
        streamed = client.post(path, headers={**auth, "Content-Type": "application/json"},
                               content=chunks())
        long_query = client.get("/api/v1/entries", headers=auth,
                                params={"text": "a" * (MAX_QUERY_BYTES + 1)})
        long_text = client.get("/api/v1/entries", headers=auth, params={"text": "a" * 201})
        fine = client.post(path, headers=auth, json={"text": "x" * 10_000})
        # The longest entry allowed, every character escaped by the client (\u00e9): accepted.
        longest = client.post("/api/v1/entries", headers={
            **auth, "Content-Type": "application/json"}, content=json.dumps(
                {"question": "Très longue ?", "answer": "é" * 200_000}).encode("ascii"))
    assert _json_error(declared, 413)["code"] == "payload_too_large"
    assert _json_error(streamed, 413)["code"] == "payload_too_large"
    assert _json_error(long_query, 414)["code"] == "uri_too_long"
    _json_error(long_text, 422)
    assert fine.status_code == 201
    assert longest.status_code == 201, longest.text[:300]
    assert _notes(admin_knowledge) == 1


def test_unknown_paths_methods_and_ids_are_json_errors(
        admin_knowledge: Knowledge, setup: tuple[dict[str, str], int]) -> None:
    auth, ticket_id = setup
    with api_client(admin_knowledge) as client:
        assert _json_error(client.get("/api/v1/nothing", headers=auth), 404)["code"] == \
            "not_found"
        assert _json_error(client.delete(f"/api/v1/tickets/{ticket_id}", headers=auth),
                           405)["code"] == "method_not_allowed"
        for bad in ("0", "-1", "1.5", "9" * 30, "%00"):
            _json_error(client.get(f"/api/v1/tickets/{bad}", headers=auth), 422)
        _json_error(client.get("/api/v1/tickets/2147483648", headers=auth), 422)
        # A newline in the path: the mount does not take it, the answer is JSON all the same.
        _json_error(client.post("/api/v1/tickets/%0A1/note", headers=auth,
                                json={"text": "Vu."}), 404)
        _json_error(client.get("/api/v1%0A", headers=auth), 404)


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(
        admin_knowledge: Knowledge, setup: tuple[dict[str, str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    auth, ticket_id = setup

    def broken(**_kwargs: object) -> None:
        raise RuntimeError("disque plein /var/lib/secret")

    monkeypatch.setattr(notes, "add_note", broken)
    with api_client(admin_knowledge, raise_server_exceptions=False) as client:
        response = client.post(f"/api/v1/tickets/{ticket_id}/note", headers=auth,
                               json={"text": "Vu."})
    error = _json_error(response, 500)
    assert error["code"] == "internal_error" and "secret" not in response.text
    with admin_knowledge.session() as session:
        # The failed call of a write token is in the audit log too, with its status.
        call = session.scalars(select(AuditEvent).where(AuditEvent.action == "api.call")).one()
    assert call.details["status"] == 500
