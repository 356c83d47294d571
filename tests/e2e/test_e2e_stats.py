"""A real browser opens the statistics page of `svp serve --demo` and downloads the digest."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from docx import Document
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server

from knowledge.desk.workdays import PARIS
from knowledge.timeutil import utcnow

__all__ = ["demo_server"]  # the fixture, shared with the first browser test

pytestmark = pytest.mark.slow

SIZES = {"large": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _shots_dir(tmp_path: Path) -> Path:
    # SVP_SCREENSHOTS keeps the pictures for a human to look at; by default they stay in tmp.
    folder = Path(os.environ.get("SVP_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_statistics_page_and_digest_download(demo_server: DemoServer, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = _shots_dir(tmp_path)
    month = utcnow().astimezone(PARIS).strftime("%Y-%m")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=SIZES["large"], accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{demo_server.url}/login")
        page.get_by_label("Identifiant").fill(demo_server.login)
        page.get_by_label("Mot de passe").fill(demo_server.password)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()

        page.get_by_role("link", name="Statistiques").click()
        expect(page.get_by_role("heading", name="Statistiques", exact=True)).to_be_visible()
        departements = page.locator("#table-departements")
        # Départements where no member organisation asked anything are listed with zero.
        expect(departements.locator("tr", has_text="Hautes-Alpes")).to_contain_text("0")
        expect(departements.locator("tr", has_text="Bouches-du-Rhône")).to_be_visible()
        expect(page.locator("svg.chart")).to_have_count(4)
        expect(page.get_by_role("img", name="Questions par département")).to_be_visible()
        page.screenshot(path=str(shots / "stats-1366.png"), full_page=False)
        page.locator("svg.chart").nth(1).scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "stats-chart-1366.png"), full_page=False)
        page.set_viewport_size(SIZES["phone"])
        page.screenshot(path=str(shots / "stats-chart-390.png"), full_page=False)
        page.set_viewport_size(SIZES["large"])

        with page.expect_download() as csv_download:
            departements.get_by_role("link", name="CSV").click()
        assert csv_download.value.suggested_filename.endswith("departements.csv")

        page.get_by_role("link", name="Lettre mensuelle").click()
        page.get_by_label("Mois", exact=True).fill(month)
        page.get_by_role("button", name="Afficher").click()
        expect(page.get_by_role("heading", name=re.compile("Les réponses du SVP"))).to_be_visible()
        page.screenshot(path=str(shots / "digest-1366.png"), full_page=False)
        with page.expect_download() as word_download:
            page.get_by_role("button", name="Télécharger (Word)").click()
        path = tmp_path / "lettre.docx"
        word_download.value.save_as(path)
        with page.expect_download() as html_download:
            page.get_by_role("button", name="Télécharger (HTML)").click()
        html_path = tmp_path / "lettre.html"
        html_download.value.save_as(html_path)
        page.set_viewport_size(SIZES["phone"])
        page.screenshot(path=str(shots / "digest-390.png"), full_page=False)
        browser.close()
    document = Document(io.BytesIO(path.read_bytes()))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "Les réponses du SVP" in text and "Le mois en chiffres" in text
    assert "Sophie Martin" not in text  # anonymised: no asker
    assert "<title>Les réponses du SVP" in html_path.read_text(encoding="utf-8")
