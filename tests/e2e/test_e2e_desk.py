"""The adviser's desk in a real browser (Chromium driven by Playwright), with the bot running.

`svp serve --demo` runs the web admin and the bot in one process; the bot talks to a small
local server that speaks the Bot API and records every message. At 1366×768, then at phone
width: a question nothing covers opens with an empty draft; a suggestion is taken into the
draft; a 6,000-character answer is sent and reaches Telegram in parts, in order; an internal
note stays internal; a follow-up is sent; the asker's 👎 comment shows on the ticket.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from standin_bot_api import StandInBotApi, running
from test_e2e_browser import CHROMIUM_ARGS, _chromium, serve_demo

pytestmark = pytest.mark.slow

TOKEN = "123456789:" + "D" * 35
SCREENSHOTS = Path(os.environ.get("SVP_SCREENSHOTS", "var/screenshots"))
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class DeskServer:
    """`svp serve --demo` with its bot, the recorder and the adviser account."""

    url: str
    login: str
    password: str
    database: Path
    telegram: StandInBotApi


@pytest.fixture
def desk_server(tmp_path: Path) -> Iterator[DeskServer]:
    with running(TOKEN) as api:
        env = {"SVP_TELEGRAM_TOKEN": TOKEN, "SVP_TELEGRAM_API_URL": api.url,
               "SVP_OUTBOX_INTERVAL_SECONDS": "0.5", "SVP_TELEGRAM_BOT_USERNAME": "svp_test_bot"}
        with serve_demo(tmp_path, env) as demo:
            yield DeskServer(url=demo.url, login=demo.login, password=demo.password,
                             database=tmp_path / "var" / "svp.db", telegram=api)


def _long_answer(tag: str) -> str:
    paragraphs = [f"Paragraphe {tag}-{n:02d} : " + "le bailleur vérifie la situation du "
                  "ménage et **informe** le locataire par écrit. " * 4 for n in range(1, 21)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 6_000
    return text


def _wait(condition: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _give_feedback(database: Path, ticket_id: int, comment: str) -> None:
    """The asker's 👎 and comment, stored by the same service the bot calls."""
    from knowledge.desk import tickets
    from knowledge.store.db import make_engine, make_session_factory, unit_of_work
    from knowledge.store.models import Ticket

    engine = make_engine(f"sqlite+pysqlite:///{database}")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.asker_id is not None
            tickets.record_feedback(session=session, ticket_id=ticket_id,
                                    asker_id=ticket.asker_id, value=-1, comment=comment)
    finally:
        engine.dispose()


def _ask(database: Path, text: str) -> None:
    """A new question arrives, stored by the same service the bot calls."""
    from sqlalchemy import select

    from knowledge.desk import tickets
    from knowledge.store.db import make_engine, make_session_factory, unit_of_work
    from knowledge.store.models import Asker

    engine = make_engine(f"sqlite+pysqlite:///{database}")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            asker = session.scalars(select(Asker).where(Asker.status == "approved")).first()
            assert asker is not None
            tickets.submit(session=session, asker_id=asker.id, text=text)
    finally:
        engine.dispose()


def _desk_flow(page: Any, server: DeskServer, *, question: str, uncovered: bool,
               tag: str, shots: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/queue")
    page.screenshot(path=str(SCREENSHOTS / f"{shots}-queue.png"), full_page=False)
    page.locator("a.ticket-link", has_text=question).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Question n° \d+"))).to_be_visible()
    ticket_id = int(re.search(r"/tickets/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    page.screenshot(path=str(SCREENSHOTS / f"{shots}-opened.png"), full_page=False)
    answer = page.get_by_label("Réponse envoyée au demandeur")

    if uncovered:  # 1. nothing covers the question: no unrelated text one click from sent
        assert answer.input_value() == ""
        expect(page.locator("#uncovered")).to_be_visible()
    page.get_by_role("button", name="Reprendre cette réponse").first.click()
    expect(answer).not_to_have_value("")
    expect(page.locator("#pub-none")).to_be_checked()  # 3. unchanged suggestion
    answer.press("End")
    answer.type(" Précision.")
    expect(page.locator("#pub-update")).to_be_checked()  # 3. edited suggestion

    long_answer = _long_answer(tag)
    answer.fill(long_answer)
    expect(page.locator("#answer-counter")).to_contain_text("2 message(s) Telegram")
    expect(page.locator(".tg-part")).to_have_count(2)
    page.locator("#preview-box").evaluate("box => { box.open = true; }")
    expect(page.locator(".tg-part b").first).to_have_text("informe")  # 6. rendered markup
    expect(page.locator(".tg-part").last).to_be_visible()
    page.locator(".tg-part").last.screenshot(path=str(SCREENSHOTS / f"{shots}-preview.png"))
    page.get_by_label("Envoyer sans publier").check()
    page.get_by_label("Références juridiques").fill("CCH, art. L. 442-1")
    page.screenshot(path=str(SCREENSHOTS / f"{shots}-draft.png"), full_page=False)
    page.get_by_role("button", name="Valider et envoyer").click()
    expect(page.get_by_text("La réponse a été validée")).to_be_visible()

    # 2. delivered by the bot in parts, in order, signed, with the reference.
    def answer_parts() -> list[tuple[int, str]]:
        sent = [item for item in server.telegram.messages() if f"Paragraphe {tag}-" in item[1]]
        return sent if sent and "SVP de l'AR Hlm" in sent[-1][1] else []
    parts = _wait(answer_parts, "the answer's parts")
    assert len(parts) == 2 and len({chat for chat, _ in parts}) == 1
    chat = parts[0][0]
    numbers = [int(n) for n in re.findall(rf"Paragraphe {tag}-(\d+)", "".join(t for _, t in parts))]
    assert numbers == list(range(1, 21))
    assert "<b>informe</b>" in parts[0][1] and "CCH, art. L. 442-1" in parts[-1][1]
    for _ in range(60):  # the page tells the truth once the bot recorded the parts
        page.reload()
        if page.get_by_text("en 2 parties").count():
            break
        time.sleep(0.5)
    expect(page.get_by_text("en 2 parties")).to_be_visible()

    # 4. an internal note stays internal.
    note = f"Note interne {tag} : vérifier la convention."
    page.locator("#note-box summary").click()
    page.get_by_label("Note pour les conseillers").fill(note)
    page.get_by_role("button", name="Ajouter la note").click()
    expect(page.locator(".msg-note", has_text=note)).to_be_visible()

    # 4. a follow-up goes to the asker through the outbox.
    follow_up = f"Complément {tag} : le décret d'application est paru."
    page.locator("#follow-up-box summary").click()
    page.get_by_label("Message au demandeur").fill(follow_up)
    page.get_by_role("button", name="Envoyer au demandeur").click()
    expect(page.get_by_text("Le complément est enregistré")).to_be_visible()
    sent = _wait(lambda: [t for c, t in server.telegram.messages() if follow_up in t],
                 "the follow-up")
    assert sent[0].startswith("<b>Complément du SVP à votre question")
    assert all(note not in text for _, text in server.telegram.messages())
    assert all(c == chat for c, t in server.telegram.messages() if f" {tag} " in t or
               f"Paragraphe {tag}-" in t)

    # 5. what the asker said back is on the ticket.
    comment = f"Il manque le cas des foyers ({tag})."
    _give_feedback(server.database, ticket_id, comment)
    page.reload()
    expect(page.locator("#feedback")).to_contain_text("👎")
    expect(page.locator("#feedback")).to_contain_text(comment)
    page.screenshot(path=str(SCREENSHOTS / f"{shots}-ticket.png"), full_page=True)


def test_adviser_desk_at_desktop_and_phone_width(desk_server: DeskServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        for viewport, question, uncovered, tag in (
                (DESKTOP, "abattement de TFPB", True, "D"),
                (PHONE, "échanger leurs logements", False, "P")):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(120_000)
            confirmations: list[str] = []

            def accept(dialog: Any, seen: list[str] = confirmations) -> None:
                seen.append(dialog.message)
                dialog.accept()
            page.on("dialog", accept)

            page.goto(f"{desk_server.url}/login")
            page.get_by_label("Identifiant").fill(desk_server.login)
            page.get_by_label("Mot de passe").fill(desk_server.password)
            page.get_by_role("button", name="Se connecter").click()
            expect(page.get_by_role("heading", name="File d'attente")).to_be_visible()
            shots = "desk-desktop" if viewport is DESKTOP else "desk-phone"
            if viewport is PHONE:  # 8. the queue fits the phone; a question on the 1st screen
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                first = page.locator("a.ticket-link").first.bounding_box()
                assert first is not None and first["y"] + first["height"] < PHONE["height"]
            _desk_flow(page, desk_server, question=question, uncovered=uncovered, tag=tag,
                       shots=shots)
            assert any("Envoyer cette réponse" in text for text in confirmations)
            assert any("Envoyer ce message" in text for text in confirmations)
            if viewport is DESKTOP:  # 7. a new question shows up without reloading the page
                page.goto(f"{desk_server.url}/queue")
                page.evaluate("window.__same_page = true")
                fresh = "Question arrivée pendant la lecture de la file : le préavis réduit ?"
                _ask(desk_server.database, fresh)
                expect(page.locator("a.ticket-link", has_text="préavis réduit")).to_be_visible(
                    timeout=60_000)
                expect(page.locator("#queue-live")).to_contain_text("nouvelle(s) question(s)")
                assert page.evaluate("window.__same_page === true")  # never reloaded
            if viewport is PHONE:
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                page.goto(f"{desk_server.url}/askers?status=all")
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                page.screenshot(path=str(SCREENSHOTS / "desk-phone-askers.png"))
            context.close()
        browser.close()
