"""Personal data before publication, in a real browser (Chromium driven by Playwright).

`svp serve --demo`; a question describing a household arrives. At 1280 then 390 wide: the
ticket page lists the findings highlighted; one click replaces one by its placeholder, the
list follows what is typed; publishing with a finding left is refused by the server until
confirmed, "Tout remplacer" cleans the rest; the entry edit page does the same.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_e2e_browser import CHROMIUM_ARGS, _chromium, serve_demo

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(os.environ.get("SVP_SCREENSHOTS", "var/screenshots"))
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
QUESTION = ("Mme B., locataire au 3e, 4 enfants, dette de 2 300 €, n° allocataire {n} : "
            "la CAF peut-elle maintenir l'APL pendant le plan d'apurement ?")


def _ask(database: Path, text: str) -> int:
    """A question arrives, stored by the same service the bot calls; its number."""
    from sqlalchemy import select

    from knowledge.desk import tickets
    from knowledge.store.db import make_engine, make_session_factory, unit_of_work
    from knowledge.store.models import Asker

    engine = make_engine(f"sqlite+pysqlite:///{database}")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            asker = session.scalars(select(Asker).where(Asker.status == "approved")).first()
            assert asker is not None
            return tickets.submit(session=session, asker_id=asker.id, text=text).id
    finally:
        engine.dispose()


def _flow(page: Any, url: str, ticket_id: int, size: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/tickets/{ticket_id}")
    box = page.locator("#privacy-box")
    expect(box).to_be_visible()
    findings = page.locator("#privacy-findings li")
    # The question's two findings come first (the draft answer may hold more: on the second
    # pass it is the entry the first pass published, with its confirmed "M. Dupont").
    expect(findings.first.locator("mark")).to_have_text("Mme B.")
    expect(findings.nth(1).locator("mark")).to_have_text(re.compile(r"^76543\d\d$"))
    question = page.get_by_label("Question reformulée pour la fiche")
    answer = page.get_by_label("Réponse envoyée au demandeur")
    page.get_by_label("Publier comme nouvelle fiche").check()
    answer.fill("Oui, sous conditions ; rappelez Mme B. au 06 12 34 56 78 pour le dossier.")
    expect(findings).to_have_count(4)  # rescanned as the adviser types
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"privacy-{size}-ticket.png"), full_page=False)
    box.screenshot(path=str(SCREENSHOTS / f"privacy-{size}-box.png"))
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # One click: the first finding of the question becomes "[locataire]".
    findings.first.get_by_role("button", name="Remplacer par [locataire]").click()
    expect(question).to_have_value(re.compile(r"^\[locataire\], locataire au 3e"))
    expect(findings).to_have_count(3)

    # Publishing with findings left and no confirmation: the server refuses, keeps the text
    # (after the near-duplicate warning, on the second pass).
    page.get_by_role("button", name="Valider et envoyer").click()
    expect(page.locator("#error-answer, #duplicate-warning").first).to_be_visible()
    duplicate = page.get_by_role("button", name="Publier quand même une nouvelle fiche")
    if duplicate.count():
        duplicate.click()
    expect(page.locator("#error-answer")).to_contain_text("données personnelles probables")
    expect(page.get_by_label("Réponse envoyée au demandeur")).to_have_value(
        re.compile("06 12 34 56 78"))
    page.locator("#error-answer").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"privacy-{size}-refused.png"), full_page=False)
    # Typing after the refusal keeps the publication the adviser had chosen.
    page.get_by_label("Réponse envoyée au demandeur").press("Control+End")
    page.get_by_label("Réponse envoyée au demandeur").type(" Merci.")
    expect(page.get_by_label("Publier comme nouvelle fiche")).to_be_checked()

    page.get_by_role("button", name="Tout remplacer").click()
    expect(page.locator("#privacy-box")).to_be_hidden()
    expect(page.get_by_label("Publier comme nouvelle fiche")).to_be_checked()  # choice kept
    expect(page.get_by_label("Réponse envoyée au demandeur")).to_have_value(
        "Oui, sous conditions ; rappelez [locataire] au [téléphone] pour le dossier. Merci.")
    page.get_by_role("button", name="Valider et envoyer").click()
    duplicate = page.get_by_role("button", name="Publier quand même une nouvelle fiche")
    expect(page.locator(".notice, #duplicate-warning").first).to_be_visible()
    if duplicate.count():
        duplicate.click()
    expect(page.get_by_text("La réponse a été validée")).to_be_visible()
    entry = page.locator("dl.facts a[href^='/kb/']")
    entry_id = int(re.search(r"\d+", entry.inner_text()).group())  # type: ignore[union-attr]
    assert entry_id > 157  # a new entry, next to the 157 of the demo base
    page.goto(f"{url}/kb/{entry_id}")
    # What was published is the cleaned text, placeholders in place of the household.
    expect(page.get_by_text(re.compile(r"\[locataire\], locataire au 3e"))).to_be_visible()
    expect(page.get_by_text("rappelez [locataire] au [téléphone]")).to_be_visible()

    # The entry edit page: a name typed shows up, and saving it needs the confirmation.
    page.goto(f"{url}/kb/{entry_id}/edit")
    expect(page.locator("#privacy-box")).to_be_hidden()
    edit_answer = page.get_by_label("Réponse", exact=True)
    edit_answer.fill(edit_answer.input_value() + " Voir le cas de M. Dupont.")
    expect(page.locator("#privacy-findings li")).to_have_count(1)
    page.get_by_label("Je confirme que ces données peuvent être publiées").check()
    page.screenshot(path=str(SCREENSHOTS / f"privacy-{size}-edit.png"), full_page=False)
    page.get_by_role("button", name="Enregistrer une nouvelle révision").click()
    expect(page.get_by_text("La fiche a été enregistrée.")).to_be_visible()

    # The month's digest shows the confirmed name, and asks again before sending.
    month = datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y-%m")
    page.goto(f"{url}/digest?month={month}")
    expect(page.locator(f"#findings-{entry_id} mark")).to_have_text("M. Dupont")
    page.locator("#digest-privacy").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"privacy-{size}-digest.png"), full_page=False)
    page.get_by_role("button", name="Envoyer aux abonnés sur Telegram").click()
    expect(page.locator("#digest-error")).to_contain_text("données personnelles probables")


def test_findings_replaced_in_one_click_and_publication_confirmed(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serve_demo(tmp_path) as demo, sync_playwright() as playwright:
        database = tmp_path / "var" / "svp.db"
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        for number, (size, viewport) in enumerate(SIZES.items()):
            ticket_id = _ask(database, QUESTION.format(n=7654321 + number))
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.on("dialog", lambda dialog: dialog.accept())  # "Envoyer cette réponse ?"
            page.goto(f"{demo.url}/login")
            page.get_by_label("Identifiant").fill(demo.login)
            page.get_by_label("Mot de passe").fill(demo.password)
            page.get_by_role("button", name="Se connecter").click()
            expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
            _flow(page, demo.url, ticket_id, size)
            context.close()
        browser.close()
