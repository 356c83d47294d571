"""A real browser against `svp serve --demo`, and `svp veille import` run beside it as cron
would: two answers published with their legal references, a LEGI increment that amends one
cited article and repeals the other; the adviser finds both under « Fiches à revoir », reads
the word diff, revises the first (its asker is offered the correction) and says the second
is still right.

Screenshots of each step (1366×768 and 390×844) go to SVP_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from legi_archives import ArticleVersion, write_increment
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server

__all__ = ["demo_server"]

pytestmark = pytest.mark.slow
SIZES = {"large": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
OLD = ("Les logements sont attribués en tenant compte du patrimoine, de la composition, du "
       "niveau de ressources et des conditions de logement actuelles du ménage.")
NEW = ("Les logements sont attribués en tenant compte du patrimoine, de la composition, du "
       "niveau de ressources, de l'éloignement du lieu de travail et des conditions de "
       "logement actuelles du ménage.")


def _shots(page: Any, name: str) -> None:
    folder = os.environ.get("SVP_SCREENSHOTS")
    if not folder:
        return
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(Path(folder) / f"watch-{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["large"])


def _publish(page: Any, server: DemoServer, ticket_words: str, answer: str, question: str,
             reference: str) -> str:
    """Answer a demo question as a new entry citing `reference`; return the entry's path."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}/queue")
    page.locator("a.ticket-link", has_text=ticket_words).first.click()
    page.get_by_label("Réponse envoyée au demandeur").fill(answer)
    page.get_by_label(re.compile("^Références juridiques")).fill(reference)
    page.get_by_label("Publier comme nouvelle fiche").check()
    page.get_by_label("Question reformulée pour la fiche").fill(question)
    page.get_by_role("button", name="Valider et envoyer").click()
    duplicate = page.get_by_role("button", name="Publier quand même une nouvelle fiche")
    expect(page.locator(".notice, #duplicate-warning").first).to_be_visible()
    if duplicate.count():
        duplicate.click()
    expect(page.get_by_text("La réponse a été validée")).to_be_visible()
    href = page.locator("dd a[href^='/kb/']").get_attribute("href")
    assert href
    return str(href)


def _import(tmp_path: Path, archive: Path) -> str:
    env = {**os.environ, "SVP_DATA_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1"}
    for name in ("SVP_TELEGRAM_TOKEN", "SVP_DATABASE_URL", "SVP_INDEX_DIR"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "svp", "veille", "import", str(archive)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_flagged_entry_diff_revise_with_correction_and_still_right(
        demo_server: DemoServer, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZES["large"])
        page.set_default_timeout(120_000)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{demo_server.url}/login")
        page.get_by_label("Identifiant").fill(demo_server.login)
        page.get_by_label("Mot de passe").fill(demo_server.password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()

        amended = _publish(
            page, demo_server, "étudiant",
            "Oui. L'attribution tient compte des ressources et du patrimoine du ménage.",
            "Un étudiant boursier peut-il obtenir un logement social ?", "CCH art. L441-1")
        repealed = _publish(
            page, demo_server, "gardien",
            "Le bailleur propose un logement adapté en cas de sous-occupation.",
            "Que doit proposer le bailleur en cas de sous-occupation ?",
            "article L. 442-3-1 du code de la construction et de l'habitation")

        # The daily increment: L441-1 amended, L442-3-1 repealed, both in a month.
        effective = date.today() + timedelta(days=30)
        day = effective.strftime("%d/%m/%Y")
        archive = write_increment(tmp_path, stamp="20261203-213000", articles=[
            ArticleVersion(id="LEGIARTI000038835418", num="L441-1", etat="MODIFIE",
                           date_debut="2019-01-01", date_fin=effective.isoformat(), text=OLD),
            ArticleVersion(id="LEGIARTI000052000001", num="L441-1", etat="VIGUEUR_DIFF",
                           date_debut=effective.isoformat(), text=NEW),
            ArticleVersion(id="LEGIARTI000006896280", num="L442-3-1", etat="ABROGE_DIFF",
                           date_debut="2018-11-25", date_fin=effective.isoformat(),
                           text="En cas de sous-occupation, le bailleur propose un logement.")])
        assert "2 fiche(s) à revoir" in _import(tmp_path, archive)

        # « Fiches à revoir » names both, with the change and its date.
        page.goto(f"{demo_server.url}/kb/due")
        flagged = page.locator("#flagged")
        expect(flagged).to_contain_text(f"CCH art. L441-1 modifié, nouvelle version à compter "
                                        f"du {day} (à venir)")
        expect(flagged).to_contain_text(f"CCH art. L442-3-1 abrogé à compter du {day}")
        _shots(page, "due")

        # The amended one: the article as it was and as it will be, word by word.
        flagged.get_by_role("link", name=re.compile("étudiant boursier")).click()
        box = page.locator("#legal-flags")
        expect(box).to_be_visible()
        expect(box.locator("ins", has_text="éloignement du lieu de travail")).to_be_visible()
        expect(box.locator(".legal-old")).to_contain_text("niveau de ressources et des")
        expect(page.locator("#entry-references a", has_text="CCH art. L441-1")).to_have_attribute(
            "href", re.compile(r"^https://www\.legifrance\.gouv\.fr/"))
        _shots(page, "diff")

        # Revised: the flag is settled and the asker who had the answer is offered the fix.
        box.get_by_role("link", name="Réviser la fiche").click()
        page.get_by_label("Réponse", exact=True).fill(
            "Oui. L'attribution tient compte des ressources, du patrimoine et, à partir de "
            f"{day}, de l'éloignement du lieu de travail.")
        page.get_by_label("Motif de la modification").fill("art. L441-1 CCH modifié")
        page.get_by_role("button", name="Enregistrer une nouvelle révision").click()
        expect(page.get_by_text("La fiche a été enregistrée.")).to_be_visible()
        expect(page.locator("#legal-flags")).to_have_count(0)
        recipients = page.locator("#recipients")
        expect(recipients).to_contain_text("à prévenir")
        page.get_by_role("button", name=re.compile(r"Envoyer la correction à 1 demandeur")).click()
        expect(page.get_by_text("La correction part vers les demandeurs")).to_be_visible()
        _shots(page, "revised")

        # The repealed one: checked, still right with the new text.
        page.goto(f"{demo_server.url}{repealed}")
        expect(page.locator("#legal-flags")).to_contain_text("abrogé")
        page.get_by_role("button", name="Toujours juste avec le nouveau texte").click()
        expect(page.locator("#legal-flags")).to_have_count(0)
        expect(page.locator("#history")).to_contain_text("Toujours juste avec le texte modifié")
        _shots(page, "still-right")

        page.goto(f"{demo_server.url}/kb/due")
        expect(page.locator("#flagged")).to_have_count(0)
        assert amended != repealed
        browser.close()
