"""Every route of the app: anonymous visitors are refused, roles are checked, pages render."""

from __future__ import annotations

import re

import pytest
from admin_helpers import log_in, make_entry, make_ticket, make_user
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.runtime import Knowledge

# The API's schema is documentation: it names operations, never data.
PUBLIC = {"/login", "/healthz", "/telegram/webhook", "/api/v1/openapi.json", "/favicon.ico",
          "/aide/connexion"}
# The help centre sends visitors to its own sign-in; a link page names a dead link (410).
HELP_SIGN_IN = "/aide/connexion"
ADMIN_ONLY = re.compile(r"^/(users|api-tokens)")


async def fake_webhook(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _flat(routes: list[object]) -> list[object]:
    # FastAPI keeps included routers as branches; the admin includes them without a prefix.
    flat: list[object] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        flat.extend(_flat(list(included.routes)) if included is not None else [route])
    return flat


def _all_requests(app_routes: list[object], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in _flat(app_routes):
        if isinstance(route, Mount) and hasattr(route.app, "routes"):  # the JSON API
            found.extend(_all_requests(list(route.app.routes), prefix + route.path))
            continue
        if isinstance(route, Mount):
            found.append(("GET", f"{route.path}/admin.css"))
            continue
        assert isinstance(route, APIRoute | Route)
        path = prefix + re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, path))
    return found


def test_every_route_refuses_anonymous_visitors_except_public_ones(
        admin_knowledge: Knowledge) -> None:
    app = create_app(knowledge=admin_knowledge, config=AdminConfig(),
                     extra_routes=[Route("/telegram/webhook", fake_webhook, methods=["POST"])])
    requests = _all_requests(list(app.routes))
    assert len(requests) > 25
    with TestClient(app, follow_redirects=False) as client:
        for method, path in requests:
            response = client.request(method, path)
            sign_in = HELP_SIGN_IN if path.startswith("/aide") else "/login"
            refused = response.status_code in (401, 403, 410) or (
                response.status_code == 303
                and response.headers["location"].startswith(sign_in))
            if (method, path) in (("POST", "/login"), ("POST", "/aide/connexion")):
                assert "jeton de sécurité" in response.text  # open, but CSRF-checked
            elif path in PUBLIC or path.startswith("/static/"):
                assert response.status_code == 200, (method, path, response.status_code)
            else:
                assert refused, (method, path, response.status_code)


def test_admin_only_routes_refuse_advisers(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    app = create_app(knowledge=admin_knowledge, config=AdminConfig())
    requests = [(m, p) for m, p in _all_requests(list(app.routes)) if ADMIN_ONLY.match(p)]
    assert requests
    with TestClient(app, follow_redirects=False) as client:
        csrf = log_in(client, "camille")
        for method, path in requests:
            data = {"csrf_token": csrf, "login": "x", "password": "y" * 12}
            response = client.request(method, path, data=data if method == "POST" else None)
            assert response.status_code == 403, (method, path)
            assert "réservée aux administrateurs" in response.text


@pytest.mark.parametrize("role", ["adviser", "admin"])
def test_every_page_renders_for_each_role(admin_knowledge: Knowledge, role: str) -> None:
    make_user(admin_knowledge, "someone", role=role)
    entry_id = make_entry(admin_knowledge, "Qui paie la taxe d'enlèvement des ordures ?",
                          "Le locataire la rembourse au bailleur avec les charges.")
    ticket_id = make_ticket(admin_knowledge, "La TEOM est-elle récupérable ?")
    pages = ["/queue", "/queue?status=all&assigned=me", f"/tickets/{ticket_id}", "/kb",
             "/kb?q=ordures", f"/kb/{entry_id}", f"/kb/{entry_id}/edit", "/askers",
             "/askers?status=all", "/organisations", "/organisations/1", "/account",
             "/metrics"]
    with TestClient(create_app(knowledge=admin_knowledge, config=AdminConfig()),
                    follow_redirects=False) as client:
        log_in(client, "someone")
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
        users = client.get("/users")
    assert users.status_code == (200 if role == "admin" else 403)


def test_unknown_page_is_a_french_404(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with TestClient(create_app(knowledge=admin_knowledge, config=AdminConfig()),
                    follow_redirects=False) as client:
        log_in(client, "camille")
        missing_ticket = client.get("/tickets/999")
        missing_page = client.get("/nulle-part")
    assert missing_ticket.status_code == 404 and "introuvable" in missing_ticket.text
    assert missing_page.status_code == 404 and "existe pas" in missing_page.text
