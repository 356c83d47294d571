"""Issue 26 in a real browser (Debian's Chromium), at 390×844 and 1366×768: the phone menu
shows that it scrolls; the Telegram preview and the entry text follow the draft, down to an
emptied draft."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server  # noqa: F401

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
EDGES = """() => {
  const wrap = document.getElementById("nav-wrap"), nav = document.getElementById("main-nav");
  return {overflows: nav.scrollWidth > nav.clientWidth + 2,
          left: getComputedStyle(wrap, "::before").opacity,
          right: getComputedStyle(wrap, "::after").opacity};
}"""


def _log_in(page: Any, server: DemoServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/login")
    page.get_by_label("Identifiant").fill(server.login)
    page.get_by_label("Mot de passe").fill(server.password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()


def test_phone_menu_fades_where_it_scrolls_and_the_preview_follows_the_draft(
        demo_server: DemoServer) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        for viewport in (PHONE, DESKTOP):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(60_000)
            _log_in(page, demo_server)

            page.wait_for_timeout(400)  # the fade's transition
            edges = page.evaluate(EDGES)
            if viewport is PHONE:  # more links on the right: a fade says so
                assert edges == {"overflows": True, "left": "0", "right": "1"}
                page.evaluate("document.getElementById('main-nav').scrollLeft = 10000")
                expect(page.locator("#nav-wrap")).to_have_class(re.compile(r"more-left"))
                expect(page.locator("#nav-wrap")).not_to_have_class(re.compile(r"more-right"))
                page.wait_for_timeout(400)
                assert page.evaluate(EDGES) == {"overflows": True, "left": "1", "right": "0"}
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            else:  # everything fits: no fade
                assert edges == {"overflows": False, "left": "0", "right": "0"}

            page.locator("a.ticket-link").first.click()
            expect(page.get_by_role("heading", name=re.compile(r"Question n° \d+"))).to_be_visible()
            answer = page.get_by_label("Réponse envoyée au demandeur")
            preview = page.locator("#answer-preview")
            answer.fill("Bonjour Madame,\n\nLe SLS n'est **pas dû** ici.\n\nBien cordialement,")
            expect(preview.locator(".tg-part b")).to_have_text("pas dû")
            expect(page.locator("#entry-text-box")).to_be_visible()
            page.locator("#entry-preview-box summary").click()
            expect(page.locator("#entry-preview strong")).to_have_text("pas dû")
            expect(page.locator("#entry-preview")).not_to_contain_text("Bonjour")
            expect(page.locator("#entry-preview")).not_to_contain_text("cordialement")

            answer.fill("")  # emptied: the old text must not stay in the preview
            expect(preview).to_contain_text("Le brouillon est vide.")
            expect(preview.locator(".tg-part")).to_have_count(0)
            expect(page.locator("#answer-counter")).to_contain_text("0 caractère(s)")
            expect(page.locator("#answer-counter")).to_contain_text("0 message(s) Telegram")
            expect(page.locator("#entry-text-box")).to_be_hidden()

            answer.fill("Réponse **reprise**.")  # and it comes back when typed again
            expect(preview.locator(".tg-part b")).to_have_text("reprise")
            context.close()
        browser.close()
