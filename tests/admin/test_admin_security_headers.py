"""Security headers on every response, and templates free of inline scripts and styles."""

from __future__ import annotations

import re

from admin_helpers import client_for, log_in, make_user

from admin.config import AdminConfig
from admin.pages import TEMPLATES_DIR
from knowledge.runtime import Knowledge


def test_pages_forbid_framing_inline_scripts_sniffing_referrers_and_caching(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        login = client.get("/login")
        log_in(client, "camille")
        queue = client.get("/queue")
        static = client.get("/static/admin.css")
    for response in (login, queue):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    assert static.headers["x-content-type-options"] == "nosniff"


def test_hsts_is_sent_when_cookies_are_secure(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge, AdminConfig(secure_cookies=True),
                    base_url="https://testserver") as client:
        response = client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_error_pages_carry_the_headers_too(admin_knowledge: Knowledge) -> None:
    with client_for(admin_knowledge) as client:
        response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_templates_have_no_inline_script_style_or_event_handler() -> None:
    # The CSP would block them: behaviour goes in admin/static/*.js, looks in admin.css.
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    inline_style = re.compile(r"<style\b|\sstyle\s*=", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    javascript_url = re.compile(r"javascript:", re.I)
    found = []
    for template in sorted(TEMPLATES_DIR.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern in (inline_script, inline_style, handler, javascript_url):
            found.extend(f"{template.name}: {m.group(0)}" for m in pattern.finditer(text))
    assert found == []
