"""An adviser's day in a real browser (Debian's Chromium), at 1366×768 and at 390×844 (issue 26).

`svp serve --demo` on its SQLite file, with a desk history on fixed dates beside the demo
(`stats_fixture`: November 2026; and one question of November 2025). The adviser reads the
queue (on a phone the menu shows that it scrolls), answers a question with her own text —
greeting, closing and signature included — as a new entry, under a theme taken from the list
once the one she typed was refused; answers a second one by revising a suggested entry, keeping
her original text. The digest and the statistics of a month then give the same counts. The
administrator reads the audit log in French, creates a theme (a near duplicate is warned of
first), manages an account, replaces an invitation code and adds an organisation.

Screenshots of every step go to SVP_SCREENSHOTS when it is set (by default into tmp).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stats_fixture
from test_e2e_api import ADMIN_LINE
from test_e2e_browser import CHROMIUM_ARGS, DemoServer, _chromium, demo_server
from test_e2e_menu_preview import EDGES, _log_in
from test_e2e_stats import _shots_dir

from knowledge.desk.workdays import PARIS
from knowledge.timeutil import as_utc, utcnow

__all__ = ["demo_server"]  # the fixture of the first browser test

pytestmark = pytest.mark.slow

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

# The adviser's own answer: greeting, body with **bold** and a [link](url), closing, signature.
LINK = "https://www.legifrance.gouv.fr/loda/id/JORFTEXT000000880215"
ANSWER = ("Bonjour,\n\n"
          "Oui : le salaire du gardien est récupérable à **75 %** lorsqu'il assure l'entretien "
          f"des parties communes et l'élimination des déchets ([décret n° 82-955]({LINK})).\n\n"
          "Cordialement,\n"
          "Camille Conseillère\n"
          "SVP de l'AR Hlm Paca & Corse")
BODY = "Oui : le salaire du gardien est récupérable à 75 %"
UNKNOWN_THEME = "Charges du gardien"
LISTED_THEME = "Gestion locative et charges"
SECOND_ANSWER = ("Bonjour Madame,\n\n"
                 "Oui : la bourse sur critères sociaux n'empêche pas l'APL en résidence.\n\n"
                 "Bien cordialement,\n"
                 "L'équipe du SVP")

# What the fixed history holds in November 2026 (tests/stats_fixture.py).
NOVEMBER = {"questions": 5, "answered": 3, "self_served": 1, "published": 2, "updated": 0}
DIGEST_FIGURES = {
    "questions": r"(\d+) questions? reçues?",
    "answered": r"(\d+) questions? répondues? par les conseillers",
    "self_served": r"(\d+) questions? résolues? par une réponse existante",
    "published": r"(\d+) fiches? publiées?",
    "updated": r"(\d+) fiches? mises? à jour",
}
STATS_ROWS = {"questions": "Questions reçues", "answered": "Questions répondues",
              "self_served": "Résolues par une réponse existante",
              "published": "Fiches publiées", "updated": "Fiches mises à jour"}
INDICATORS = """() => Object.fromEntries([...document.querySelectorAll(
  "#table-indicateurs tbody tr")].map(row => [row.querySelector("th").textContent.trim(),
  [...row.querySelectorAll("td")].map(cell => cell.textContent.trim())]))"""
# Every text of every chart, with its box in the chart's own units, and each bar's full label.
CHART_TEXTS = """() => [...document.querySelectorAll("svg.chart")].map(svg => ({
  width: svg.viewBox.baseVal.width,
  texts: [...svg.querySelectorAll("text")].map(text => {
    const box = text.getBBox(); return {text: text.textContent, left: box.x,
                                        right: box.x + box.width}; }),
  labels: [...svg.querySelectorAll("g > title")].map(title => ({
    full: title.textContent, lines: [...title.parentNode.querySelectorAll("tspan")].map(
      span => span.textContent)}))}))"""
# Each visible form control of a block with the text of its label, and each form's buttons.
CONTROLS = """(block) => ({
  unlabelled: [...block.querySelectorAll("input, select, textarea")].filter(
    el => el.type !== "hidden" && !(el.labels && el.labels.length) &&
          !el.getAttribute("aria-label")).map(el => el.name || el.id),
  forms: [...block.querySelectorAll("form")].map(form => ({
    action: form.getAttribute("action"), confirm: form.dataset.confirm || null,
    danger: !!form.closest(".danger-zone"),
    buttons: [...form.querySelectorAll("button")].map(b => b.textContent.trim()),
    legend: (form.querySelector("legend") || {}).textContent || null}))})"""
INVITE_CODE = re.compile(r"^[ACDEFGHJKMNPQRTUVWXY34679]{4}(-[ACDEFGHJKMNPQRTUVWXY34679]{4}){2}$")


@dataclasses.dataclass
class Day:
    """The page of one person, the server, the screen size, and what the browser asked."""

    page: Any
    server: DemoServer
    size: str
    shots: Path
    dialogs: list[str]
    refuse_next_dialog: list[bool]

    def shot(self, name: str, *, full_page: bool = True) -> None:
        """Screenshot the page; on a phone, nothing may be wider than the screen."""
        self.page.screenshot(path=str(self.shots / f"day-{self.size}-{name}.png"),
                             full_page=full_page)
        width = SIZES[self.size]["width"]
        assert self.page.evaluate("document.documentElement.scrollWidth") <= width, name


def _engine(database: Path) -> Any:
    from knowledge.store.db import make_engine

    return make_engine(f"sqlite+pysqlite:///{database}")


def _fixed_history(database: Path) -> set[int]:
    """Write the desk history of November 2026 and one question of November 2025; their ids."""
    from knowledge.desk import tickets
    from knowledge.store.db import make_session_factory, unit_of_work

    engine = _engine(database)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            history = stats_fixture.build(session)
            earlier = tickets.submit(session=session,
                                     asker_id=history.askers["Habitat Provence"],
                                     text="Le SLS s'applique-t-il en QPV ?")
            earlier.created_at = earlier.updated_at = stats_fixture.paris("2025-11-12")
            for message in earlier.messages:
                message.created_at = earlier.created_at
            return {*history.tickets, earlier.id}
    finally:
        engine.dispose()


def _arrived_in(database: Path, month: str, *, leaving_out: set[int]) -> int:
    """Questions that arrived in a month (Paris time), those of `leaving_out` aside.

    The demo's questions arrive over the last twelve days, whatever the day: so many of them
    fall in the fixed month.
    """
    from sqlalchemy import select

    from knowledge.store.db import make_session_factory
    from knowledge.store.models import Ticket

    first = datetime.fromisoformat(f"{month}-01").replace(tzinfo=PARIS)
    after = (first + timedelta(days=32)).replace(day=1)
    engine = _engine(database)
    try:
        with make_session_factory(engine)() as session:
            arrived = session.execute(select(Ticket.id, Ticket.created_at)).all()
    finally:
        engine.dispose()
    return sum(1 for ticket_id, at in arrived
               if ticket_id not in leaving_out and first <= as_utc(at) < after)


def _open_ticket(day: Day, text: str) -> int:
    from playwright.sync_api import expect

    day.page.goto(f"{day.server.url}/queue")
    day.page.locator("a.ticket-link", has_text=text).first.click()
    expect(day.page.get_by_role("heading", name=re.compile(r"Question n° \d+"))).to_be_visible()
    return int(re.search(r"/tickets/(\d+)", day.page.url).group(1))  # type: ignore[union-attr]


def _choose_theme(day: Day, name: str) -> None:
    """Type a theme, then leave the field (its list of suggestions closes)."""
    field = day.page.get_by_label("Thème", exact=True)
    field.fill(name)
    field.press("Tab")


def _submit_new_entry(day: Day) -> None:
    """Click « Valider et envoyer », and publish anyway past a near-duplicate warning."""
    from playwright.sync_api import expect

    page = day.page
    page.get_by_role("button", name="Valider et envoyer").click()
    expect(page.locator(".notice, .error, #duplicate-warning").first).to_be_visible()
    duplicate = page.get_by_role("button", name="Publier quand même une nouvelle fiche")
    if duplicate.count():
        duplicate.click()


def _morning(day: Day) -> None:
    """Point 7: the favicon, and the menu that shows it scrolls on a phone."""
    page = day.page
    _log_in(page, day.server)
    icon = page.locator("link[rel='icon']").get_attribute("href")
    assert icon, "no favicon on the page"
    response = page.request.get(f"{day.server.url}{icon}")
    assert response.ok and "image/" in response.headers["content-type"]
    assert page.request.get(f"{day.server.url}/favicon.ico").ok
    page.wait_for_timeout(400)  # the fade's transition
    edges = page.evaluate(EDGES)
    if day.size == "phone":  # more links on the right: a fade says so
        assert edges == {"overflows": True, "left": "0", "right": "1"}
    else:
        assert edges == {"overflows": False, "left": "0", "right": "0"}
    day.shot("queue", full_page=False)


def _first_answer(day: Day) -> tuple[int, int]:
    """Points 3, 4 and 7: the answer published clean, the typed theme refused (PRG)."""
    from playwright.sync_api import expect

    page = day.page
    ticket_id = _open_ticket(day, "salaire de notre gardien")
    ticket_url = f"{day.server.url}/tickets/{ticket_id}"
    answer = page.get_by_label("Réponse envoyée au demandeur")
    preview = page.locator("#answer-preview")

    # 7. Emptied, the draft leaves nothing behind in the Telegram preview.
    answer.fill("")
    expect(preview).to_contain_text("Le brouillon est vide.")
    expect(preview.locator(".tg-part")).to_have_count(0)

    # 3. Her own text, and the publication chosen by a click (never a preselected radio).
    answer.fill(ANSWER)
    page.locator("#preview-box").evaluate("box => { box.open = true; }")
    expect(preview.locator(".tg-part b").first).to_have_text("75 %")
    page.get_by_label("Publier comme nouvelle fiche").check()
    expect(page.locator("#entry-text-box")).to_be_visible()
    page.locator("#entry-preview-box summary").click()
    entry_preview = page.locator("#entry-preview")
    expect(entry_preview).to_contain_text(BODY)
    expect(entry_preview.locator("strong")).to_have_text("75 %")
    expect(entry_preview.locator(f"a[href='{LINK}']")).to_have_text("décret n° 82-955")
    for courtesy in ("Bonjour", "Cordialement", "Camille Conseillère", "SVP de l'AR Hlm"):
        expect(entry_preview).not_to_contain_text(courtesy)
    keep = page.get_by_label("Garder le texte d'origine dans la fiche (avec salutation et "
                             "signature)")
    expect(keep).not_to_be_checked()
    page.get_by_label("Question reformulée pour la fiche").fill(
        "Le salaire du gardien d'immeuble est-il récupérable dans les charges locatives ?")

    # 4. A theme typed that the list does not have: refused, nothing created.
    expect(page.locator("#theme-help")).to_contain_text("Un administrateur peut le créer")
    _choose_theme(day, UNKNOWN_THEME)
    day.shot("draft")
    _submit_new_entry(day)
    error = page.locator("#error-answer")
    expect(error).to_contain_text(f"Thème inconnu : « {UNKNOWN_THEME} »")
    expect(error).to_contain_text(LISTED_THEME)  # the choices are named
    # 7. Post-redirect-get: the ticket's own address, the draft kept; a reload sends nothing.
    assert page.url.split("?")[0].split("#")[0] == ticket_url
    expect(answer).to_have_value(ANSWER)
    day.shot("refused")
    page.reload()
    assert page.url.split("?")[0].split("#")[0] == ticket_url
    expect(page.get_by_label("Réponse envoyée au demandeur")).to_have_value(ANSWER)
    expect(page.locator("h1 .status")).not_to_have_text(re.compile("répondue", re.I))

    # 4. The theme chosen from the list.
    expect(page.locator(f"#theme-list option[value='{LISTED_THEME}']")).to_have_count(1)
    expect(page.locator(f"#theme-list option[value='{UNKNOWN_THEME}']")).to_have_count(0)
    _choose_theme(day, LISTED_THEME)
    page.get_by_label("Publier comme nouvelle fiche").check()
    _submit_new_entry(day)
    expect(page.get_by_text("La réponse a été validée")).to_be_visible()
    assert page.url.split("?")[0] == ticket_url

    # 3. The ticket's history keeps the answer as sent, its markup rendered.
    sent = page.locator(".msg-adviser", has_text=BODY).last
    expect(sent.locator("strong")).to_have_text("75 %")
    expect(sent.locator(f"a[href='{LINK}']")).to_have_text("décret n° 82-955")
    expect(sent).to_contain_text("Bonjour")
    assert "**" not in sent.inner_text() and "](" not in sent.inner_text()
    day.shot("answered")
    href = page.locator("dl.facts a[href^='/kb/']").first.get_attribute("href")
    assert href
    entry_id = int(href.rsplit("/", 1)[1])

    # 3. The entry: the substance only, its markup rendered.
    page.goto(f"{day.server.url}{href}")
    text = page.locator("#entry-answer")
    expect(text).to_contain_text(BODY)
    expect(text.locator("strong")).to_have_text("75 %")
    expect(text.locator(f"a[href='{LINK}']")).to_have_text("décret n° 82-955")
    assert text.inner_text().startswith("Oui : le salaire")
    for courtesy in ("Bonjour", "Cordialement", "Camille", "SVP de l'AR Hlm", "**"):
        expect(text).not_to_contain_text(courtesy)
    expect(page.locator("main")).to_contain_text(LISTED_THEME)
    day.shot("entry")
    return ticket_id, entry_id


def _second_answer(day: Day) -> tuple[int, int]:
    """Points 2 and 3: a suggested entry revised, the original text kept by choice."""
    from playwright.sync_api import expect

    page = day.page
    ticket_id = _open_ticket(day, "bourse")
    page.get_by_label("Réponse envoyée au demandeur").fill(SECOND_ANSWER)
    page.get_by_label("Mettre à jour une fiche suggérée (nouvelle révision)").check()
    target = page.locator("#entry_id option").first.get_attribute("value")
    assert target
    page.get_by_label("Fiche à mettre à jour").select_option(target)
    # 3. Reversible: this time the entry keeps the greeting and the signature.
    page.get_by_label("Garder le texte d'origine dans la fiche (avec salutation et "
                      "signature)").check()
    _choose_theme(day, "Accès et maintien dans le logement")
    page.get_by_role("button", name="Valider et envoyer").click()
    expect(page.get_by_text("La réponse a été validée")).to_be_visible()
    page.goto(f"{day.server.url}/kb/{target}")
    expect(page.locator("#entry-answer")).to_contain_text("Bonjour Madame,")
    expect(page.locator("#entry-answer")).to_contain_text("Bien cordialement,")
    return ticket_id, int(target)


def _digest_figures(day: Day, month: str) -> dict[str, int]:
    from playwright.sync_api import expect

    page = day.page
    page.goto(f"{day.server.url}/digest")
    page.get_by_label("Mois", exact=True).fill(month)
    page.get_by_role("button", name="Afficher").click()
    figures = page.locator("#digest-figures")
    expect(figures).to_contain_text(" : ")
    assert f"month={month}" in page.url
    text = figures.inner_text()
    found = {key: re.search(pattern, text) for key, pattern in DIGEST_FIGURES.items()}
    assert all(found.values()), text
    return {key: int(match.group(1)) for key, match in found.items() if match}


def _stats_figures(day: Day, month: str) -> dict[str, int]:
    from playwright.sync_api import expect

    page = day.page
    first = date.fromisoformat(f"{month}-01")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    page.goto(f"{day.server.url}/stats")
    page.get_by_label("Du", exact=True).fill(first.isoformat())
    page.get_by_label("Au", exact=True).fill(last.isoformat())
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("p.hint").first).to_contain_text(f"du {first:%d/%m/%Y} au {last:%d/%m/%Y}")
    rows = page.evaluate(INDICATORS)
    return {key: int(rows[name][0]) for key, name in STATS_ROWS.items()}


def _same_counts(day: Day, *, demo_in_november: int, published: int, revised: int) -> None:
    """Point 2: the digest counts as the statistics do, for the fixed month and today's."""
    from playwright.sync_api import expect

    page = day.page
    november = _digest_figures(day, "2026-11")
    digest_text = page.locator("#digest-figures").inner_text()
    definitions = page.locator("#digest-definitions li").all_text_contents()
    day.shot("digest-november")
    assert november == _stats_figures(day, "2026-11")
    assert page.locator("#stats-definitions li").all_text_contents() == definitions
    assert any("une fiche importée n'est pas une publication" in d for d in definitions)
    assert november == {**NOVEMBER, "questions": NOVEMBER["questions"] + demo_in_november}
    # French agreement: « 0 fiche », « 1 question », « 2 fiches ».
    assert "1 question résolue par une réponse existante" in digest_text
    assert "2 fiches publiées, 0 fiche mise à jour." in digest_text
    # The same dates one year earlier (the fixed question of November 2025).
    hint = page.locator("p.hint").first
    expect(hint).to_contain_text("comparée aux mêmes dates un an plus tôt "
                                 "(du 01/11/2025 au 30/11/2025")
    assert page.evaluate(INDICATORS)["Questions reçues"][1] == "1"
    # Each figure says which column it is in, also on a phone where the tables become cards.
    labels = page.evaluate("""() => [...document.querySelectorAll(
      "#table-indicateurs tbody tr:first-child td")].map(cell => [cell.dataset.label || "",
        getComputedStyle(cell, "::before").content])""")
    assert [label for label, _ in labels] == ["Période du 01/11/2026 au 30/11/2026",
                                              "Un an plus tôt du 01/11/2025 au 30/11/2025"]
    if day.size == "phone":
        assert all(label in shown for label, shown in labels), labels
    assert page.locator("table.figures td:not([data-label])").count() == 0
    day.shot("stats-november")
    page.get_by_label("Du", exact=True).fill("2024-02-29")  # a year earlier, the 28th
    page.get_by_label("Au", exact=True).fill("2024-02-29")
    page.get_by_role("button", name="Afficher").click()
    expect(hint).to_contain_text("comparée aux mêmes dates un an plus tôt "
                                 "(du 28/02/2023 au 28/02/2023")

    # Today's month: what the adviser did, the demo's import of 157 entries not a publication.
    month = utcnow().astimezone(PARIS).strftime("%Y-%m")
    today = _digest_figures(day, month)
    digest_text = page.locator("#digest-figures").inner_text()
    listed = page.locator("#digest-form fieldset .choice")
    expect(listed.filter(has=page.locator(f"#entry-{published}"))).to_contain_text("nouvelle")
    expect(listed.filter(has=page.locator(f"#entry-{revised}"))).to_contain_text("mise à jour")
    day.shot("digest-today")
    assert today == _stats_figures(day, month)
    assert (today["answered"], today["published"], today["updated"]) == (2, 1, 1)
    assert "1 fiche publiée, 1 fiche mise à jour." in digest_text
    assert "2 questions répondues par les conseillers" in digest_text
    assert "0 question résolue" in digest_text



def _charts(day: Day) -> None:
    """Point 7: on the statistics of the last twelve months, no chart label is cut."""
    page = day.page
    page.goto(f"{day.server.url}/stats")
    charts = page.evaluate(CHART_TEXTS)
    assert len(charts) == 4
    for chart in charts:
        outside = [t for t in chart["texts"]
                   if t["left"] < -0.5 or t["right"] > chart["width"] + 0.5]
        assert outside == [], outside
        for label in chart["labels"]:
            assert " ".join(label["lines"]) == label["full"], label  # wrapped, never cut
            assert not any("…" in line for line in label["lines"]), label
    assert any(len(label["lines"]) > 1 for chart in charts for label in chart["labels"])
    # Each table beside its chart shows all its columns, without scrolling inside its box.
    hidden = page.evaluate("""() => [...document.querySelectorAll(".chart-table")].filter(
      box => box.scrollWidth > box.clientWidth + 1).map(box => box.querySelector("table").id)""")
    assert hidden == [], f"columns hidden behind a scroll in {hidden}"
    page.locator("svg.chart").nth(2).scroll_into_view_if_needed()
    day.shot("stats-charts", full_page=False)


def _audit(day: Day, *, first_ticket: int, entry_id: int, revised: int) -> None:
    """Point 1: who by name, one French sentence per action, labelled details, French filter."""
    from playwright.sync_api import expect

    page = day.page
    page.goto(f"{day.server.url}/audit")
    rows = page.locator("table.audit tbody tr")
    approved = rows.filter(
        has_text=f"a validé et envoyé la réponse à la question n° {first_ticket}")
    expect(approved).to_have_count(1)
    expect(approved.locator("td[data-label='Qui']")).to_have_text("Camille Conseillère")
    details = approved.locator("dl.audit-details")
    pairs = list(zip(details.locator("dt").all_inner_texts(),
                     details.locator("dd").all_inner_texts(), strict=True))
    assert ("Publication", "nouvelle fiche") in pairs, pairs
    assert ("Fiche", f"— → n° {entry_id}") in pairs, pairs
    assert ("Statut", "nouvelle → répondue") in pairs, pairs
    assert len({label for label, _ in pairs}) == len(pairs), pairs  # each field once
    created = rows.filter(has_text=f"a créé la fiche n° {entry_id}")
    expect(created.locator("td[data-label='Qui']")).to_have_text("Camille Conseillère")
    expect(rows.filter(has_text=f"a modifié la fiche n° {revised}")).to_have_count(1)
    shown = page.locator("table.audit").inner_text()
    for code in ("ticket.approve", "entry.create", "user:conseiller", "publication", "entry_id"):
        assert code not in shown, code
    day.shot("audit")

    # The filter reads in French, grouped; choosing an action keeps only its lines.
    options = page.locator("#action option").all_text_contents()
    assert "Réponse validée et envoyée" in options
    assert not [o for o in options if re.fullmatch(r"[a-z_]+\.[a-z_.]+", o)], options
    page.get_by_label("Action", exact=True).select_option(label="Réponse validée et envoyée")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_text("2 événement(s)")).to_be_visible()
    expect(rows).to_have_count(2)
    for sentence in rows.locator("td[data-label='Ce qui a été fait']").all_inner_texts():
        assert sentence.startswith("a validé et envoyé la réponse à la question n° "), sentence
    day.shot("audit-filtered")


def _themes(day: Day) -> None:
    """Point 4: creating a theme is an administrator's act, warned of a near duplicate."""
    from playwright.sync_api import expect

    page = day.page
    page.goto(f"{day.server.url}/kb/themes")
    listed = page.locator("#themes")
    expect(listed).not_to_contain_text(UNKNOWN_THEME)  # typing it created nothing
    page.get_by_label("Nom", exact=True).fill("TFPB et fiscalité")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    warning = page.locator("#similar-theme-warning")
    expect(warning).to_contain_text("ressemble à « Fiscalité (TFPB) »")
    expect(listed).not_to_contain_text("TFPB et fiscalité")
    day.shot("themes-warning")
    page.get_by_label("Nom", exact=True).fill("Aides au logement")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(listed.get_by_role("link", name="Aides au logement")).to_be_visible()


def _accounts(day: Day) -> None:
    """Point 5: one labelled control per action, the sensitive ones apart and confirmed."""
    from playwright.sync_api import expect

    page = day.page
    page.goto(f"{day.server.url}/users")
    page.get_by_label("Identifiant", exact=True).fill("dominique")
    page.get_by_label("Nom affiché").fill("Dominique Leroy")
    password = page.get_by_label(re.compile("^Mot de passe initial"))
    password.fill("logementhlm2024")  # point 8: only words of the trade
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_text(re.compile("trop facile à deviner"))).to_be_visible()
    page.goto(f"{day.server.url}/users")
    page.get_by_label("Identifiant", exact=True).fill("dominique")
    page.get_by_label("Nom affiché").fill("Dominique Leroy")
    page.get_by_label(re.compile("^Mot de passe initial")).fill("Colline-Vaucluse-2026-étiage")
    page.get_by_role("button", name="Créer le compte").click()
    card = page.locator("li.account-card", has_text="Dominique Leroy")
    card.get_by_text("Gérer le compte de Dominique Leroy").click()
    expect(card.get_by_label("Nouveau mot de passe de Dominique Leroy (10 caractères au moins)")
           ).to_be_visible()
    controls = card.evaluate(CONTROLS)
    assert controls["unlabelled"] == []
    forms = controls["forms"]
    assert all(len(form["buttons"]) == 1 and form["legend"] for form in forms), forms
    assert len({form["buttons"][0] for form in forms}) == len(forms)  # one action each
    sensitive = {form["buttons"][0]: form for form in forms if form["danger"]}
    assert set(sensitive) == {"Fermer ses sessions", "Désactiver le compte"}
    assert all(form["confirm"] for form in sensitive.values())
    expect(card.get_by_role("heading", name="Actions sensibles")).to_be_visible()
    day.shot("accounts")

    # A confirmation refused changes nothing; accepted, the action is done.
    day.refuse_next_dialog.append(True)
    card.get_by_role("button", name="Désactiver le compte").click()
    assert "Désactiver le compte de Dominique Leroy ?" in day.dialogs[-1]
    expect(card.locator("dd").nth(2)).to_have_text("actif")
    card.locator("form[action$='/sessions/close']").get_by_label(
        "Votre mot de passe, pour confirmer").fill(day.server.password)
    card.get_by_role("button", name="Fermer ses sessions").click()
    assert "Fermer toutes les sessions de Dominique Leroy" in day.dialogs[-1]
    expect(page.get_by_text("Les sessions du compte ont été fermées.")).to_be_visible()


def _organisations(day: Day) -> None:
    """Points 6 and 7: a code one can dictate, replaced with a French notice; a département."""
    from playwright.sync_api import expect

    page = day.page
    page.goto(f"{day.server.url}/organisations/1")
    code = page.locator("#invite-code")
    before = code.inner_text()
    assert INVITE_CODE.match(before), before
    page.get_by_role("button", name=re.compile("^Remplacer le code")).click()
    assert "Remplacer le code ?" in day.dialogs[-1]
    expect(page.get_by_text("Le code a été remplacé")).to_be_visible()
    after = code.inner_text()
    assert INVITE_CODE.match(after) and after != before
    day.shot("invitation")

    page.goto(f"{day.server.url}/organisations")
    departement = page.get_by_label("Département (ex. 13, 2A) — obligatoire")
    assert departement.get_attribute("required") is not None
    page.get_by_label("Nom", exact=True).fill("Mistral Habitat")
    departement.evaluate("field => field.removeAttribute('required')")  # the server decides too
    page.get_by_role("button", name="Ajouter").click()
    expect(page.get_by_text("Indiquez le département de l'organisme")).to_be_visible()
    page.goto(f"{day.server.url}/organisations")
    page.get_by_label("Nom", exact=True).fill("Mistral Habitat")
    page.get_by_label("Département (ex. 13, 2A) — obligatoire").fill("84")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.get_by_role("heading", name="Mistral Habitat")).to_be_visible()
    expect(page.get_by_label("Département (ex. 13, 2A) — obligatoire")).to_have_value("84")


def _day(browser: Any, server: DemoServer, size: str, shots: Path) -> Day:
    context = browser.new_context(viewport=SIZES[size], locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(60_000)
    day = Day(page=page, server=server, size=size, shots=shots, dialogs=[],
              refuse_next_dialog=[])

    def answer(dialog: Any) -> None:  # the pages' confirmations
        day.dialogs.append(dialog.message)
        if day.refuse_next_dialog:
            day.refuse_next_dialog.pop()
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    return day


@pytest.mark.parametrize("size", list(SIZES))
def test_an_advisers_day_on_the_real_pages(demo_server: DemoServer, tmp_path: Path,
                                           size: str) -> None:
    from playwright.sync_api import sync_playwright

    database = tmp_path / "var" / "svp.db"
    fixed = _fixed_history(database)
    demo_in_november = _arrived_in(database, "2026-11", leaving_out=fixed)
    match = ADMIN_LINE.search((tmp_path / "serve.log").read_text(encoding="utf-8"))
    assert match, "the administrator's password was not printed"
    admin = dataclasses.replace(demo_server, login=match.group(1), password=match.group(2))
    shots = _shots_dir(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), headless=True,
                                             args=CHROMIUM_ARGS)
        adviser = _day(browser, demo_server, size, shots)
        _morning(adviser)
        first_ticket, entry_id = _first_answer(adviser)
        _, revised = _second_answer(adviser)
        assert sum("Envoyer cette réponse au demandeur ?" in d for d in adviser.dialogs) >= 2
        _same_counts(adviser, demo_in_november=demo_in_november, published=entry_id,
                     revised=revised)
        _charts(adviser)

        head = _day(browser, admin, size, shots)
        _log_in(head.page, admin)
        _audit(head, first_ticket=first_ticket, entry_id=entry_id, revised=revised)
        _themes(head)
        _accounts(head)
        _organisations(head)
        browser.close()
