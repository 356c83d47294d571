"""The admin page of API tokens: create (shown once), list, revoke; CSRF; admins only."""

from __future__ import annotations

import re

from admin_helpers import client_for, log_in, make_user
from api_helpers import bearer
from sqlalchemy import select

from knowledge.runtime import Knowledge
from knowledge.store.api_models import ApiToken
from knowledge.store.models import AuditEvent

_SECRET = re.compile(r'id="issued-secret"[^>]*value="(svp_[^"]+)"')


def test_an_admin_creates_a_token_shown_once_then_revokes_it(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "alix", role="admin")
    camille = make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "alix")
        created = client.post("/api-tokens", data={
            "csrf_token": csrf, "name": "Intranet", "user_id": str(camille),
            "scope": "write", "expires_days": "30"})
        assert created.status_code == 200
        match = _SECRET.search(created.text)
        assert match, created.text
        secret = match.group(1)
        listed = client.get("/api-tokens").text
        assert secret not in listed and secret[:12] in listed and "Intranet" in listed
        assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200
        with admin_knowledge.session() as session:
            token = session.scalars(select(ApiToken)).one()
            assert token.user_id == camille and token.scope == "write"
            assert token.expires_at is not None
        revoked = client.post(f"/api-tokens/{token.id}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 303
        assert "révoqué" in client.get(revoked.headers["location"]).text
        assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 401
    with admin_knowledge.session() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "api_token").order_by(AuditEvent.id)).all()
    assert actions[0] == "api_token.create" and "api_token.revoke" in actions


def test_token_forms_need_the_csrf_token_and_valid_values(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "alix", role="admin")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "alix")
        forged = client.post("/api-tokens", data={"name": "BI", "user_id": "1"})
        no_owner = client.post("/api-tokens", data={"csrf_token": csrf, "name": "BI",
                                                    "user_id": "personne"})
        bad_days = client.post("/api-tokens", data={"csrf_token": csrf, "name": "BI",
                                                    "user_id": "1", "expires_days": "-2"})
        bad_scope = client.post("/api-tokens", data={"csrf_token": csrf, "name": "BI",
                                                     "user_id": "1", "scope": "admin"})
    assert forged.status_code == 403
    assert no_owner.status_code == 422 and "Choisissez le compte" in no_owner.text
    assert bad_days.status_code == 422 and bad_scope.status_code == 422
    with admin_knowledge.session() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_advisers_cannot_see_nor_create_tokens(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        assert client.get("/api-tokens").status_code == 403
        assert client.post("/api-tokens", data={"csrf_token": csrf, "name": "BI",
                                                "user_id": "1"}).status_code == 403
        assert "Jetons d'API" not in client.get("/queue").text
