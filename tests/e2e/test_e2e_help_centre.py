"""Issue 23 in a real browser (Debian's Chromium) at 1366×768 and 390×844, on `svp serve --demo`
with a real SMTP server: a member signs in with the link read from the mail, searches with
suggestions as she types, opens an entry, gives her opinion, prints it, asks a question the
base does not cover, reads the adviser's answer under « Mes questions » and in the email that
announced it, asks a question on that answer (the same ticket reopens); axe-core finds no
serious or critical violation on any help-centre page."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mail_server import Mailbox, body_of, smtp_server
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, serve_demo

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
SHOTS = Path("/tmp/help-centre-shots")
MEMBER = "sophie.martin@habitat-med.example"  # an approved asker of the demo
BY_DOMAIN = "accueil@logisduvar.example"  # an address on a declared domain
LINK = re.compile(r"https?://[^/\s]+(/aide/lien/\S+)")
AXE = Path(os.environ.get("SVP_AXE_JS", Path(__file__).resolve().parents[2]
                          / ".cache/axe-core/node_modules/axe-core/axe.min.js"))


@pytest.fixture
def help_server(tmp_path: Path) -> Iterator[tuple[DemoServer, Mailbox]]:
    with smtp_server() as (port, box), serve_demo(tmp_path, {
            "SVP_MAIL_SMTP_HOST": "127.0.0.1", "SVP_MAIL_SMTP_PORT": str(port),
            "SVP_MAIL_SMTP_SECURITY": "none",
            "SVP_MAIL_FROM": "SVP <svp@arhlm.example>"}) as server:
        yield server, box


def _axe_js() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: scripts/test.sh installs axe-core (npm)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def _no_serious_violation(page: Any, axe: str, where: str) -> None:
    page.add_script_tag(content=axe)
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                  'best-practice']});
      return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
        .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}));
    }""")
    assert result == [], f"{where}: {json.dumps(result, ensure_ascii=False)}"


def _sign_in(page: Any, server: DemoServer, box: Mailbox, email: str) -> None:
    from playwright.sync_api import expect

    before = len(box.to(email))
    page.goto(f"{server.url}/aide")
    expect(page).to_have_url(re.compile(r"/aide/connexion"))
    page.get_by_label("Adresse électronique professionnelle").fill(email)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    expect(page.locator("#link-sent")).to_contain_text(email)
    deadline = time.monotonic() + 15
    while len(box.to(email)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    messages = box.to(email)
    assert len(messages) == before + 1, "one mail per request"
    match = LINK.search(body_of(messages[-1]))
    assert match, body_of(messages[-1])
    page.goto(f"{server.url}{match.group(1)}")
    page.get_by_role("button", name="Me connecter").click()
    expect(page.get_by_role("heading", name="Les réponses du SVP")).to_be_visible()
    expect(page.locator("header.site")).to_contain_text(email)


def _wait_for_mail(box: Mailbox, to: str, subject: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in box.to(to) if m["Subject"] == subject]
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no mail « {subject} » to {to}: "
                         f"{[m['Subject'] for m in box.to(to)]}")


def test_a_member_signs_in_by_mail_searches_reads_and_gives_her_opinion(
        help_server: tuple[DemoServer, Mailbox]) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, box = help_server
    axe = _axe_js()
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        for name, viewport, email in (("desktop", DESKTOP, MEMBER), ("phone", PHONE, BY_DOMAIN)):
            # The page's CSP forbids inline scripts, axe's included: the test context lets
            # axe in (the headers are checked by tests/admin/help).
            context = browser.new_context(viewport=viewport, locale="fr-FR", bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(60_000)

            page.goto(f"{server.url}/aide/connexion")
            _no_serious_violation(page, axe, f"{name} /aide/connexion")
            _sign_in(page, server, box, email)
            page.screenshot(path=str(SHOTS / f"home-{name}.png"), full_page=True)
            _no_serious_violation(page, axe, f"{name} /aide")
            themes = page.locator("ul.themes li")
            assert themes.count() >= 3
            expect(themes.first).to_contain_text(re.compile(r"\d+ fiches?"))

            # Suggestions as she types, with a typo; the keyboard reaches them.
            box_input = page.get_by_role("combobox", name="Votre question")
            box_input.press_sequentially("restitution du depot de garantie", delay=20)
            suggestions = page.locator("#suggestions li")
            expect(suggestions.first).to_be_visible()
            expect(suggestions.first).to_contain_text(re.compile(r"dépôt de garantie", re.I))
            page.screenshot(path=str(SHOTS / f"suggest-{name}.png"))
            box_input.press("Escape")
            expect(page.locator("#suggestions")).to_be_hidden()
            expect(box_input).to_have_value("restitution du depot de garantie")

            box_input.press("Enter")
            expect(page).to_have_url(re.compile(r"/aide/recherche\?q="))
            results = page.locator("ol.results > li")
            expect(results.first).to_be_visible()
            expect(results.first.locator("p.passage")).not_to_be_empty()
            page.screenshot(path=str(SHOTS / f"search-{name}.png"), full_page=True)
            _no_serious_violation(page, axe, f"{name} /aide/recherche")

            results.first.locator("h3 a").click()
            expect(page.locator("#h-entry")).to_be_visible()
            expect(page.locator("article.entry .meta")).to_contain_text("vérifiée le")
            expect(page.locator("#permalink")).to_contain_text("/aide/fiches/")
            page.get_by_role("button", name=re.compile("Utile")).first.click()
            expect(page.get_by_role("status")).to_contain_text("votre avis est transmis")
            expect(page.get_by_role("button", name=re.compile("^👍 Utile"))).to_have_attribute(
                "aria-pressed", "true")
            page.screenshot(path=str(SHOTS / f"entry-{name}.png"), full_page=True)
            _no_serious_violation(page, axe, f"{name} /aide/fiches")
            page.emulate_media(media="print")
            expect(page.locator("#avis")).to_be_hidden()
            expect(page.locator("header.site")).to_be_hidden()
            page.emulate_media(media="screen")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

            page.locator("p.crumbs a").last.click()  # the entry's theme
            expect(page.locator("ul.entries li").first).to_be_visible()
            _no_serious_violation(page, axe, f"{name} /aide/themes")

            question = ("Nos gardiens peuvent-ils refuser d'entretenir les composteurs "
                        f"collectifs installés en pied d'immeuble ? ({name})")
            page.goto(f"{server.url}/aide/recherche")
            page.get_by_role("combobox", name="Votre question").fill(question)
            page.get_by_role("button", name="Rechercher").click()
            expect(page.locator("#no-answer")).to_be_visible()
            page.locator("#ask-svp").click()
            expect(page.get_by_label("Votre question")).to_have_value(question)
            _no_serious_violation(page, axe, f"{name} /aide/questions/nouvelle")
            page.get_by_role("button", name="Envoyer ma question au SVP").click()
            expect(page.get_by_role("status")).to_contain_text("Votre question est envoyée")
            ticket_path = page.url.split("?")[0].replace(server.url, "")
            ticket_id = ticket_path.rsplit("/", 1)[1]
            _no_serious_violation(page, axe, f"{name} /aide/questions/n")

            # An adviser answers it in the admin, in another browser.
            adviser = browser.new_context(viewport=DESKTOP)
            desk = adviser.new_page()
            desk.set_default_timeout(60_000)
            desk.on("dialog", lambda dialog: dialog.accept())
            desk.goto(f"{server.url}/login")
            desk.get_by_label("Identifiant").fill(server.login)
            desk.get_by_label("Mot de passe").fill(server.password)
            desk.get_by_role("button", name="Se connecter").click()
            desk.goto(f"{server.url}/tickets/{ticket_id}")
            desk.get_by_label("Réponse envoyée au demandeur").fill(
                "Non : l'entretien des composteurs peut figurer dans leurs missions.")
            desk.get_by_label(re.compile(r"^Envoyer sans publier")).check()
            desk.get_by_role("button", name="Valider et envoyer").click()
            expect(desk.get_by_text("La réponse a été validée")).to_be_visible()
            adviser.close()

            page.goto(f"{server.url}/aide/questions")
            expect(page.locator(f"a[href='{ticket_path}']")).to_be_visible()
            expect(page.locator("ul.questions")).to_contain_text("répondue")
            page.screenshot(path=str(SHOTS / f"questions-{name}.png"), full_page=True)
            page.goto(f"{server.url}{ticket_path}")
            expect(page.locator("#fil")).to_contain_text("entretien des composteurs")
            page.screenshot(path=str(SHOTS / f"question-{name}.png"), full_page=True)
            _no_serious_violation(page, axe, f"{name} /aide/questions")
            # The answer also reached her by email (the mail worker of `svp serve`), threaded.
            subject = f"[SVP n° {ticket_id}] Réponse à votre question"
            answer_mail = _wait_for_mail(box, email, subject)
            assert "entretien des composteurs" in body_of(answer_mail)
            assert f"{ticket_path}\r\n" in body_of(answer_mail)  # SVP_ADMIN_BASE_URL + path
            assert answer_mail["References"].startswith(f"<svp-question-{ticket_id}@")

            # A question on that answer reopens the same ticket.
            page.get_by_label("Une question sur cette réponse ?").fill(
                "Et si le composteur est sur la voie publique ?")
            page.get_by_role("button", name="Envoyer au SVP").click()
            expect(page.get_by_role("status")).to_contain_text("la question est rouverte")
            expect(page.locator("#ticket-status")).to_contain_text("en cours d'examen")
            expect(page.locator("#fil")).to_contain_text("question de suivi")

            # A member opens no advisers' page: the admin asks for its own login.
            page.goto(f"{server.url}/queue")
            expect(page).to_have_url(re.compile(r"/login"))
            context.close()
        browser.close()
