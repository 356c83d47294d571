"""A real browser against `svp serve --demo`: answer a question as a new entry, then edit
the entry, read the diff, push the correction to the asker and see it in the outbox.

Screenshots of each step (1366×768 and 390×844) go to SVP_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server

__all__ = ["demo_server"]  # the fixture, shared with the other browser test

pytestmark = pytest.mark.slow
SIZES = {"large": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _shots(page: object, name: str) -> None:
    folder = os.environ.get("SVP_SCREENSHOTS")
    if not folder:
        return
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)  # type: ignore[attr-defined]
        target = Path(folder) / f"catalog-{name}-{size}.png"
        page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size(SIZES["large"])  # type: ignore[attr-defined]


def test_adviser_edits_an_entry_sees_the_diff_and_pushes_the_correction(
        demo_server: DemoServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZES["large"])
        page.set_default_timeout(120_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the desk's send confirmations
        page.goto(f"{demo_server.url}/login")
        page.get_by_label("Identifiant").fill(demo_server.login)
        page.get_by_label("Mot de passe").fill(demo_server.password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()

        # An asker gets an answer published as a new entry.
        page.locator("a.ticket-link", has_text="étudiant").first.click()
        ticket_url = page.url
        page.get_by_label("Réponse envoyée au demandeur").fill(
            "Oui : la bourse n'empêche pas l'APL. Le plafond de loyer retenu est de 300 euros.")
        page.get_by_label("Publier comme nouvelle fiche").check()
        page.get_by_label("Question reformulée pour la fiche").fill(
            "Un étudiant boursier logé en résidence peut-il toucher l'APL ?")
        page.get_by_role("button", name="Valider et envoyer").click()
        duplicate = page.get_by_role("button", name="Publier quand même une nouvelle fiche")
        expect(page.locator(".notice, #duplicate-warning").first).to_be_visible()
        if duplicate.count():
            duplicate.click()
        expect(page.get_by_text("La réponse a été validée")).to_be_visible()
        entry_href = page.locator("dd a[href^='/kb/']").get_attribute("href")
        assert entry_href

        # The figure changes: the adviser edits the entry.
        page.goto(f"{demo_server.url}{entry_href}")
        expect(page.get_by_text("Aucune modification de fond")).to_be_visible()
        page.get_by_role("link", name="Modifier la fiche").click()
        page.get_by_label("Réponse", exact=True).fill(
            "Oui : la bourse n'empêche pas l'APL. Le plafond de loyer retenu est de 320 euros.")
        page.get_by_label("Motif de la modification").fill("barème 2027")
        page.get_by_role("button", name="Enregistrer une nouvelle révision").click()
        expect(page.get_by_text("La fiche a été enregistrée.")).to_be_visible()
        history = page.locator("#history")
        expect(history.get_by_text("Révision 2", exact=True)).to_be_visible()
        expect(history).to_contain_text("motif : barème 2027")
        _shots(page, "entry")

        # The diff shows what changed, word by word.
        page.get_by_role("button", name="Voir les différences").click()
        expect(page.get_by_role("heading", name=re.compile(r"révision 1 → 2"))).to_be_visible()
        expect(page.locator("#diff del", has_text="300")).to_be_visible()
        expect(page.locator("#diff ins", has_text="320")).to_be_visible()
        _shots(page, "diff")

        # The asker who had the old answer gets the correction, once.
        page.get_by_role("link", name="Retour à la fiche").click()
        recipients = page.locator("#recipients")
        expect(recipients).to_contain_text("Karim Benali")
        expect(recipients).to_contain_text("à prévenir")
        page.get_by_role("button", name=re.compile(r"Envoyer la correction à 1 demandeur")).click()
        expect(page.get_by_text("La correction part vers les demandeurs")).to_be_visible()
        sent = page.locator("#corrections-sent")
        expect(sent).to_contain_text("en attente d'envoi")
        expect(recipients).to_contain_text("déjà prévenu")
        send_again = page.get_by_role("button", name=re.compile("Envoyer la correction"))
        expect(send_again).to_have_count(0)
        _shots(page, "corrections")

        # The outbox row is on the ticket, beside the answer.
        page.goto(ticket_url)
        deliveries = page.locator("table.deliveries")
        expect(deliveries.locator("tr", has_text="Correction")).to_contain_text("pas encore envoyé")
        expect(deliveries.locator("tr", has_text="Réponse")).to_be_visible()
        _shots(page, "ticket")

        # The list sorted by usage, the review page, the themes, a web import tried first.
        page.goto(f"{demo_server.url}/kb?sort=answers&theme=acces%20et%20maintien%20dans%20le%20LOGEMENT")
        first_row = page.locator("#entries tbody tr").first
        expect(first_row).to_contain_text(entry_href.rsplit("/", 1)[1])
        _shots(page, "list")
        page.get_by_role("link", name=re.compile("^À revoir")).click()
        expect(page.get_by_role("heading", name="Fiches à revoir")).to_be_visible()
        _shots(page, "due")
        page.goto(f"{demo_server.url}/kb/themes")
        expect(page.locator("#themes")).to_contain_text("Fiscalité (TFPB)")
        _shots(page, "themes")
        page.goto(f"{demo_server.url}/kb/import")
        page.get_by_label("Fichier", exact=True).set_input_files(files=[{
            "name": "fiches.jsonl", "mimeType": "application/x-ndjson",
            "buffer": (b'{"id": "W1", "question": "Nouvelle fiche ?", "answer": "Oui."}\n'
                       b'{"id": "W2", "question": "", "answer": "Sans question."}\n')}])
        page.get_by_role("button", name="Essayer l'import").click()
        report = page.locator("#import-report")
        expect(report).to_contain_text("rien n'est encore enregistré")
        expect(report).to_contain_text("créées : 1")
        expect(report).to_contain_text("ligne 2, question : vide")
        _shots(page, "import")
        browser.close()
