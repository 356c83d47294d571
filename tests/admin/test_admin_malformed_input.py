"""Malformed and oversized ids in paths and query strings: 404 or 422, never a 5xx."""

from __future__ import annotations

import re

import pytest
from admin_helpers import client_for, log_in, make_user
from fastapi.routing import APIRoute
from starlette.routing import Mount
from test_admin_routes import _flat

from admin.app import create_app
from admin.config import AdminConfig
from knowledge.runtime import Knowledge

# Past int4 (PostgreSQL `Integer`), past int8 (bigint), far past anything, negative, junk.
BAD_NUMBERS = ["2147483648", "9223372036854775808", "9" * 40, "9" * 5000, "-1", "0", "1e3",
               "abc", "%00", "%F0%9F%92%A5", "\u00b2", "1;DROP", "x" * 3000]
# Every query parameter a page reads, with its malformed values.
QUERY_PARAMETERS = ["page", "organisation", "assigned", "min_age", "status", "theme",
                    "departement", "q", "text", "next", "info"]


def _templates(knowledge: Knowledge) -> list[tuple[str, str]]:
    """(method, path template) of every route of the admin."""
    app = create_app(knowledge=knowledge, config=AdminConfig())
    found = []
    for route in _flat(list(app.routes)):
        if isinstance(route, Mount) or not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


@pytest.fixture
def admin_client(admin_knowledge: Knowledge):  # type: ignore[no-untyped-def]
    make_user(admin_knowledge, "root", role="admin")
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "root")
        yield client, csrf


def test_every_route_answers_bad_path_ids_with_404_or_422(admin_knowledge: Knowledge,
                                                          admin_client) -> None:  # type: ignore[no-untyped-def]
    client, csrf = admin_client
    templates = [(m, p) for m, p in _templates(admin_knowledge) if "{" in p]
    assert len(templates) > 15
    failures = []
    for method, template in templates:
        for value in BAD_NUMBERS:
            path = re.sub(r"\{[^}]+\}", value, template)
            data = {"csrf_token": csrf} if method == "POST" else None
            response = client.request(method, path, data=data)
            allowed = (303, 400, 403, 404, 405, 409, 410, 422)  # 410: a dead sign-in link
            if response.status_code not in allowed:  # never a 5xx, never a success
                failures.append((method, path[:80], response.status_code))
    assert failures == []


def test_every_page_answers_bad_query_values_without_a_5xx(admin_knowledge: Knowledge,
                                                           admin_client) -> None:  # type: ignore[no-untyped-def]
    client, _csrf = admin_client
    pages = [p.replace("{ticket_id}", "1").replace("{entry_id}", "1")
             .replace("{organisation_id}", "1")
             for m, p in _templates(admin_knowledge) if m == "GET" and "{" not in p]
    assert "/queue" in pages and "/kb" in pages
    failures = []
    for page in pages:
        for name in QUERY_PARAMETERS:
            for value in BAD_NUMBERS:
                response = client.get(page, params={name: value})
                if response.status_code >= 500:
                    failures.append((page, name, value[:40], response.status_code))
    assert failures == []


def test_oversized_ticket_number_is_a_404_page_in_french(admin_client) -> None:  # type: ignore[no-untyped-def]
    client, _csrf = admin_client
    response = client.get("/tickets/9223372036854775808")
    assert response.status_code == 404
    assert "Cette page n&#39;existe pas" in response.text
