"""A real browser against `svp serve --demo`: an admin creates an API token, a tool uses it.

The token is read from the page (shown once), used over HTTP on the running server, then
revoked with the page's button; screenshots at desktop and phone widths, no CSP violation.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server  # noqa: F401

pytestmark = pytest.mark.slow

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ADMIN_LINE = re.compile(r"administrateur : (\S+) / (\S+)")


def test_an_admin_issues_a_token_that_a_tool_uses_until_it_is_revoked(
        demo_server: DemoServer, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("SVP_SCREENSHOTS_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    match = ADMIN_LINE.search((tmp_path / "serve.log").read_text(encoding="utf-8"))
    assert match, "the admin's password was not printed"
    login, password = match.groups()
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZES["desktop"])
        page.set_default_timeout(60_000)
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(f"{demo_server.url}/login")
        page.get_by_label("Identifiant").fill(login)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("link", name="Jetons d'API").click()
        expect(page.get_by_role("heading", name="Jetons d'API", exact=True)).to_be_visible()
        page.get_by_label("Nom (l'outil qui l'utilisera)").fill("Intranet des organismes")
        owner = page.locator("#token-user option", has_text=f"({demo_server.login})")
        page.get_by_label("Compte au nom duquel il agit").select_option(
            owner.get_attribute("value"))
        page.get_by_label("Portée").select_option("write")
        page.get_by_label("Validité en jours (vide : sans fin)").fill("90")
        page.get_by_role("button", name="Créer le jeton").click()
        secret = page.get_by_label("Jeton", exact=True).input_value()
        assert secret.startswith("svp_")
        for name, size in SIZES.items():
            page.set_viewport_size(size)
            page.screenshot(path=str(shots / f"api-tokens-{name}.png"), full_page=True)
        page.set_viewport_size(SIZES["desktop"])

        headers = {"Authorization": f"Bearer {secret}"}
        found = httpx.get(f"{demo_server.url}/api/v1/search", headers=headers,
                          params={"q": "dépôt de garantie", "k": 3}, timeout=60)
        assert found.status_code == 200 and found.json()["hits"]
        page.goto(f"{demo_server.url}/api-tokens")
        row = page.locator("table.list tbody tr").first.inner_text()
        assert "Intranet des organismes" in row and "jamais" not in row  # last use shown
        page.get_by_role("button", name="Révoquer").click()
        expect(page.get_by_text("Le jeton d'accès a été révoqué")).to_be_visible()
        refused = httpx.get(f"{demo_server.url}/api/v1/search", headers=headers,
                            params={"q": "loyer"}, timeout=60)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        browser.close()
    assert violations == []
