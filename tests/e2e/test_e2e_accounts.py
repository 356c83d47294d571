"""The accounts page and the audit log in a real browser, at 1366 and 390 pixels wide.

`svp serve --demo` and a second account: each action of the account has its own labelled
control, the sensitive ones ask for a confirmation, nothing is wider than the screen; the
audit log then names the administrator and says what was done, in French.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_e2e_browser import CHROMIUM_ARGS, _chromium, serve_demo

pytestmark = pytest.mark.slow

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(os.environ.get("SVP_SCREENSHOTS", "var/screenshots"))

ADMIN_PASSWORD = "Colline-Vaucluse-2026-étiage"


def _add_account(database: Path) -> None:
    from knowledge.people import advisers
    from knowledge.store.db import make_engine, make_session_factory, unit_of_work
    from knowledge.store.models import UserRole

    engine = make_engine(f"sqlite+pysqlite:///{database}")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            advisers.create(session=session, login="camille", password="une phrase bien longue",
                            role=UserRole.ADVISER, display_name="Camille Martin", actor="test")
            # The accounts page is the administrators' (the demo prints the adviser's login).
            advisers.create(session=session, login="direction", password=ADMIN_PASSWORD,
                            role=UserRole.ADMIN, display_name="Dominique Leroy", actor="test")
    finally:
        engine.dispose()


def test_the_accounts_page_fits_a_phone_and_confirms_sensitive_actions(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serve_demo(tmp_path) as demo, sync_playwright() as playwright:
        _add_account(tmp_path / "var" / "svp.db")
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZES["desktop"])
        page.set_default_timeout(60_000)
        dialogs: list[str] = []

        def accept(dialog: object) -> None:
            dialogs.append(dialog.message)  # type: ignore[attr-defined]
            dialog.accept()  # type: ignore[attr-defined]

        page.on("dialog", accept)
        page.goto(f"{demo.url}/login")
        page.get_by_label("Identifiant").fill("direction")
        page.get_by_label("Mot de passe").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
        for name, size in SIZES.items():
            page.set_viewport_size(size)
            page.goto(f"{demo.url}/users")
            page.get_by_text("Gérer le compte de Camille Martin").click()
            expect(page.get_by_label("Nouveau mot de passe de Camille Martin")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name
            page.screenshot(path=str(SCREENSHOTS / f"accounts-{name}.png"), full_page=True)
        card = page.locator("#compte-2, li.account-card", has_text="Camille Martin").first
        card.locator("form[action$='/sessions/close']").get_by_label(
            "Votre mot de passe, pour confirmer").fill(ADMIN_PASSWORD)
        card.get_by_role("button", name="Fermer ses sessions").click()
        expect(page.get_by_text("Les sessions du compte ont été fermées.")).to_be_visible()
        assert dialogs and "Fermer toutes les sessions de Camille Martin" in dialogs[0]
        for name, size in SIZES.items():
            page.set_viewport_size(size)
            page.goto(f"{demo.url}/audit")
            expect(page.get_by_text("a fermé toutes les sessions du compte de Camille Martin")
                   ).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name
            page.screenshot(path=str(SCREENSHOTS / f"audit-{name}.png"), full_page=True)
        browser.close()
