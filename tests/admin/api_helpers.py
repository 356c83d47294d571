"""Builders shared by the JSON API tests: tokens, clients and their headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.people import advisers, api_tokens
from knowledge.runtime import Knowledge


def make_token(knowledge: Knowledge, login: str, scope: str = "write",
               expires_days: int | None = None, name: str = "intranet") -> str:
    """Create a token for an existing account; return its secret."""
    with knowledge.session() as session:
        user = advisers.get_by_login(session=session, login=login)
        issued = api_tokens.create(session=session, name=name, user_id=user.id,
                                   scope=api_tokens.TokenScope(scope),
                                   expires_days=expires_days, actor="test")
        return issued.secret


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {secret}"}


def api_client(knowledge: Knowledge, config: AdminConfig | None = None,
               raise_server_exceptions: bool = True) -> TestClient:
    """A test client of the whole admin app (the API is mounted at /api/v1)."""
    return TestClient(create_app(knowledge=knowledge, config=config or AdminConfig()),
                      follow_redirects=False, raise_server_exceptions=raise_server_exceptions)
