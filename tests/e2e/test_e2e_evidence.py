"""Issue 27 on the ticket page, in a real browser on the demo base with the real embedder, at
1366×768 and 390×844: suggestions labelled by evidence, their passage highlighted, "send as
is" preselected only when a passage answers, and a cited draft built from the entries above
the threshold that an adviser can reorder and trim before sending."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server  # noqa: F401

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
SHOTS = Path("/tmp/evidence-shots")
CITED_ORDER = """() => Array.from(document.querySelectorAll('#citations li.citation'))
  .map((item) => item.dataset.entry)"""
HITS = """() => Array.from(document.querySelectorAll('ol.hits li.hit')).map((item) => ({
  id: item.id.replace('hit-', ''),
  strength: item.querySelector('.strength').textContent.trim()}))"""


def _log_in(page: Any, server: DemoServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/login")
    page.get_by_label("Identifiant").fill(server.login)
    page.get_by_label("Mot de passe").fill(server.password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()


def _open(page: Any, server: DemoServer, words: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/queue")
    page.locator("a.ticket-link", has_text=words).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Question n° \d+"))).to_be_visible()


def _checked_publication(page: Any) -> list[str]:
    return [value for value in ("none", "update", "new")
            if page.locator(f"#pub-{value}").count() and page.locator(f"#pub-{value}").is_checked()]


def test_ticket_page_shows_evidence_and_a_cited_draft_the_adviser_trims(
        demo_server: DemoServer) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        # Each pass answers one question with a cited draft: a different one per width.
        for name, viewport, words in (("desktop", DESKTOP, "supplément de loyer de solidarité"),
                                      ("phone", PHONE, "échanger leurs logements")):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.on("dialog", lambda dialog: dialog.accept())
            _log_in(page, demo_server)

            # A passage of the gardien's entry answers: its answer, to send as is, preselected.
            _open(page, demo_server, "gardien")
            hits = page.evaluate(HITS)
            assert hits[0]["strength"] == "répond à la question"
            assert page.get_by_label("Réponse envoyée au demandeur").input_value().strip()
            assert _checked_publication(page) == ["none"]
            first = hits[0]["id"]
            passage = page.locator(f"#hit-passage-{first}")
            expect(passage).to_be_visible()
            marked = page.locator(f"#hit-answer-{first} mark.passage-mark")
            expect(marked).to_have_count(1)
            # The highlighted passage is the one shown above the answer, inside the entry.
            shown = " ".join(marked.inner_text().split())
            assert shown[:60] in " ".join(passage.inner_text().split())

            # Entries in rapport, none answering (the SLS question, the exchange one): the cited
            # draft is offered with no publication chosen, from entries above the threshold.
            _open(page, demo_server, words)
            hits = page.evaluate(HITS)
            assert "répond à la question" not in [hit["strength"] for hit in hits]
            expect(page.locator("#not-answered")).to_be_visible()
            above = [hit["id"] for hit in hits if hit["strength"] != "sous le seuil"]
            cited = page.evaluate(CITED_ORDER)
            assert cited and cited == above[:len(cited)]
            answer = page.get_by_label("Réponse envoyée au demandeur")
            draft = answer.input_value()
            for entry_id in cited:
                assert f"(fiche n° {entry_id}" in draft
            assert _checked_publication(page) == []
            page.screenshot(path=str(SHOTS / f"sls-{name}.png"), full_page=True)
            page.locator("ol.hits li.hit").first.screenshot(path=str(SHOTS / f"hit-{name}.png"))
            page.locator("#cited-box").screenshot(path=str(SHOTS / f"cited-{name}.png"))

            # Trim: the second passage removed, the third moved to the top; the draft follows.
            removed, moved = cited[1], cited[2] if len(cited) > 2 else None
            page.locator(f"#cite-{removed}").uncheck()
            expect(answer).not_to_have_value(re.compile(rf"fiche n° {removed}\b"))
            if moved is not None:
                up = page.locator(f"#citation-{moved} button[data-move=up]")
                up.click()
                assert page.evaluate(CITED_ORDER) == [cited[0], moved, removed]
                up.click()
                assert page.evaluate(CITED_ORDER) == [moved, cited[0], removed]
                kept = answer.input_value()
                assert kept.index(f"fiche n° {moved}") < kept.index(f"fiche n° {cited[0]}")
            # Sending without a publication choice is not possible: the browser asks for one.
            page.get_by_role("button", name="Valider et envoyer").click()
            assert page.locator("#approve-form input[name=publication]:invalid").count() == 3
            page.get_by_label(re.compile(r"^Envoyer sans publier")).check()
            sent = answer.input_value()
            page.get_by_role("button", name="Valider et envoyer").click()
            expect(page.get_by_text("La réponse a été validée")).to_be_visible()
            thread = page.locator("ol.thread")
            expect(thread).to_contain_text(f"fiche n° {cited[0]}")
            expect(thread).not_to_contain_text(f"fiche n° {removed}")
            opening = " ".join(sent.split("\n")[0].split())[:40]
            assert opening in " ".join(thread.inner_text().split())
            page.screenshot(path=str(SHOTS / f"sls-sent-{name}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1

            # Nothing above the threshold (TFPB is not in the base): nothing cited, empty draft.
            _open(page, demo_server, "TFPB")
            expect(page.locator("#uncovered")).to_be_visible()
            expect(page.locator("#cited-box")).to_have_count(0)
            assert page.get_by_label("Réponse envoyée au demandeur").input_value() == ""
            context.close()
        browser.close()
