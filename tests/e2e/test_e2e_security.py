"""A real browser against `svp serve --demo`: second factor enrolment, login, recovery code.

Also checks that no page breaks the Content-Security-Policy (Chromium reports violations on
its console) and keeps screenshots of the enrolment at desktop and phone sizes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server  # noqa: F401

pytestmark = pytest.mark.slow

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SVP_SCREENSHOTS_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_enrol_a_second_factor_then_log_in_with_a_code_and_a_recovery_code(
        demo_server: DemoServer, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import Page, expect, sync_playwright

    shots = _shots_dir(tmp_path)
    violations: list[str] = []

    def log_in(page: Page, second: str | None) -> None:
        page.goto(f"{demo_server.url}/login")
        page.get_by_label("Identifiant").fill(demo_server.login)
        page.get_by_label("Mot de passe").fill(demo_server.password)
        page.get_by_role("button", name="Se connecter").click()
        if second is not None:
            expect(page.get_by_role("heading", name="Double authentification")).to_be_visible()
            page.get_by_label("Code à 6 chiffres").fill(second)
            page.get_by_role("button", name="Valider").click()

    def shoot(page: Page, what: str) -> None:
        for name, size in SIZES.items():
            page.set_viewport_size(size)
            page.screenshot(path=str(shots / f"security-{what}-{name}.png"), full_page=True)
        page.set_viewport_size(SIZES["desktop"])

    def log_out(page: Page) -> None:
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page.get_by_text("Vous êtes déconnecté")).to_be_visible()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZES["desktop"])
        page.set_default_timeout(60_000)
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)

        log_in(page, None)
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
        page.get_by_role("link", name="Mon compte").click()
        page.get_by_role("button", name="Activer la double authentification").click()
        expect(page.locator(".qr svg")).to_be_visible()
        shoot(page, "enrol")
        secret = page.locator("#totp-secret").inner_text().strip()
        page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        page.get_by_label("Votre mot de passe").fill(demo_server.password)
        page.get_by_role("button", name="Activer").click()
        expect(page.get_by_role("heading", name="Vos codes de secours")).to_be_visible()
        codes = [code.strip() for code in page.locator("#recovery-codes code").all_inner_texts()]
        assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", c)
                                        for c in codes)
        shoot(page, "codes")
        page.get_by_role("link", name="Revenir à mon compte").click()
        expect(page.get_by_text("Codes de secours restants : 10")).to_be_visible()
        log_out(page)

        # The password alone no longer opens the queue.
        log_in(page, None)
        expect(page.get_by_role("heading", name="Double authentification")).to_be_visible()
        page.goto(f"{demo_server.url}/queue")
        expect(page).to_have_url(re.compile(r"/login"))
        # With the authenticator's code, it does.
        # The next step's code (accepted for clock drift): never the one used to enrol.
        log_in(page, pyotp.TOTP(secret).at(time.time() + 30))
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
        log_out(page)

        # A recovery code replaces the phone, once.
        log_in(page, codes[0])
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
        page.get_by_role("link", name="Mon compte").click()
        expect(page.get_by_text("Codes de secours restants : 9")).to_be_visible()
        shoot(page, "account")
        log_out(page)
        log_in(page, codes[0])
        expect(page.get_by_text("Code incorrect ou déjà utilisé")).to_be_visible()
        page.set_viewport_size(SIZES["phone"])
        page.screenshot(path=str(shots / "security-second-factor-phone.png"), full_page=True)
        browser.close()
    assert violations == []
