"""Statistics page and exports, the monthly digest page, and the audit log page."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from admin_helpers import client_for, log_in, make_asker, make_ticket, make_user
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select
from stats_fixture import build

from admin.routes import audit as audit_routes
from knowledge import audit
from knowledge.runtime import Knowledge
from knowledge.store.models import Asker, AuditEvent, Outbox, OutboxKind

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


class _Tables(HTMLParser):
    """Collect the text of every cell of every table with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id"):
            self._current = str(dict(attrs)["id"])
            self.tables[self._current] = []
        elif self._current and tag == "tr":
            self.tables[self._current].append([])
        elif self._current and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._current = None
        elif self._current and tag in ("td", "th") and self._cell is not None:
            self.tables[self._current][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _history(knowledge: Knowledge) -> None:
    with knowledge.session() as session:
        build(session)


def test_statistics_page_shows_the_region_with_charts_and_tables(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    _history(admin_knowledge)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        page = client.get("/stats", params=NOVEMBER)
    assert page.status_code == 200
    tables = _page_tables(page.text)
    departements = {row[0]: row[1:] for row in tables["table-departements"][1:]}
    assert departements["05"] == ["Hautes-Alpes", "0", "0", "0", "0", "0"]
    assert departements["83"] == ["Var", "1", "3", "0", "1", "1"]
    indicators = {row[0]: row[1:] for row in tables["table-indicateurs"][1:]}
    assert indicators["Réponse : médiane (jours ouvrés)"] == ["1", "—"]  # nothing in 2025
    # Charts are server-rendered: no inline script (the page's shared static scripts aside).
    assert page.text.count("<svg") == 4
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    assert "Hautes-Alpes : 0 (un an plus tôt : 0)" in page.text  # the chart's description


def test_csv_exports_match_the_page(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    _history(admin_knowledge)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        tables = _page_tables(client.get("/stats", params=NOVEMBER).text)
        for key in ("indicateurs", "mois", "themes", "organismes", "departements"):
            response = client.get(f"/stats/export/{key}.csv", params=NOVEMBER)
            assert response.status_code == 200
            assert "attachment" in response.headers["content-disposition"]
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")),
                                   delimiter=";"))
            assert rows == tables[f"table-{key}"], key
        workbook = client.get("/stats/export/tout.xlsx", params=NOVEMBER)
        missing = client.get("/stats/export/inconnu.csv", params=NOVEMBER)
    sheets = load_workbook(io.BytesIO(workbook.content), read_only=True)
    assert sheets.sheetnames == ["Indicateurs", "Questions par mois", "Par thème",
                                 "Par organisme", "Par département", "Centre d'aide"]
    rows = list(sheets["Par département"].iter_rows(values_only=True))
    assert ("83", "Var", 1, 3, 0, 1, 1) in rows and ("2B", "Haute-Corse", 0, 0, 0, 0, 0) in rows
    assert missing.status_code == 404


def test_statistics_need_a_login_and_refuse_bad_dates(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    with client_for(admin_knowledge) as client:
        anonymous = client.get("/stats")
        log_in(client, "camille")
        bad = client.get("/stats", params={"from": "2026-02-30"})
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    assert bad.status_code == 422 and "Date invalide" in bad.text


def test_digest_page_downloads_word_and_html_anonymised(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    _history(admin_knowledge)
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        page = client.get("/digest", params={"month": "2026-11"}).text
        form = {"csrf_token": csrf, "month": "2026-11", "entry": ["2", "3"]}
        word = client.post("/digest/download/lettre.docx", data=form)
        html = client.post("/digest/download/lettre.html", data=form)
        named = client.post("/digest/download/lettre.html", data={**form, "organisations": "1"})
    assert "locataire décédé peut-il reprendre le bail" in page and "gardien" in page
    document = Document(io.BytesIO(word.content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "Les réponses du SVP — novembre 2026" in text
    assert "Le fils d'un locataire décédé peut-il reprendre le bail ?" in text
    assert "Habitat Provence" not in text and "Sophie Martin" not in text
    assert word.headers["content-disposition"].endswith('reponses-du-svp-2026-11.docx"')
    assert "<script" not in html.text and "Habitat Provence" not in html.text
    assert "Question posée par : Habitat Provence" in named.text


def test_digest_send_queues_one_message_per_subscriber(admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    _history(admin_knowledge)
    with admin_knowledge.session() as session:
        session.query(Asker).update({Asker.digest_subscribed: True})
    with client_for(admin_knowledge) as client:
        csrf = log_in(client, "camille")
        form = {"csrf_token": csrf, "month": "2026-11", "entry": ["2"]}
        first = client.post("/digest/send", data=form)
        client.post("/digest/send", data=form)
    assert first.status_code == 303 and "sent=2" in first.headers["location"]
    with admin_knowledge.session() as session:
        rows = session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.DIGEST.value))
        assert sorted(row.asker_id or 0 for row in rows) == [1, 2]  # None would show as 0


def test_audit_page_is_for_admins_filters_pages_and_exports(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    make_user(admin_knowledge, "root", role="admin")
    with admin_knowledge.session() as session:
        for number in range(60):
            audit.record(session=session, actor="user:camille", action="entry.update",
                         object_type="entry", object_id=number,
                         details={"before": {"theme": "A"}, "after": {"theme": "B"}})
        audit.record(session=session, actor="asker:7", action="ticket.submit",
                     object_type="ticket", object_id=99)
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        refused = client.get("/audit")
        log_in(client, "root")
        first = client.get("/audit", params={"actor": "camille"}).text
        second = client.get("/audit", params={"actor": "camille", "page": "2"}).text
        tickets = client.get("/audit", params={"object_type": "ticket"}).text
        export = client.get("/audit/export/journal.csv", params={"action": "entry."})
    assert refused.status_code == 403
    assert "Page 1 sur 2" in first and "Page 2 sur 2" in second
    assert first.count("a modifié la fiche n°") == 50
    assert "a posé la question" not in first.split("<tbody>")[1]
    assert "Demandeur n° 7" in tickets and "a modifié la fiche" not in tickets.split("<tbody>")[1]
    assert "<dt>Thème</dt><dd>A → B</dd>" in first and "before" not in first.split("<tbody>")[1]
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 61 and rows[1][7] == "entry.update"
    # Nothing in the web admin writes to the log: its routes only read.
    assert audit_routes.router.routes
    assert all(route.methods <= {"GET", "HEAD"}  # type: ignore[attr-defined]
               for route in audit_routes.router.routes)


def test_the_database_refuses_to_change_or_delete_audit_events(
        admin_knowledge: Knowledge) -> None:
    with admin_knowledge.session() as session:
        audit.record(session=session, actor="test", action="entry.create", object_type="entry",
                     object_id=1)
    for change in ("update", "delete"):
        try:
            with admin_knowledge.session() as session:
                event = session.scalars(select(AuditEvent)).one()
                if change == "update":
                    event.actor = "someone else"
                else:
                    session.delete(event)
        except Exception as error:  # the driver's IntegrityError / RaiseException
            assert "append-only" in str(error)
        else:
            raise AssertionError(f"{change} of an audit event was accepted")
    with admin_knowledge.session() as session:
        assert session.scalars(select(AuditEvent.actor)).one() == "test"


def test_statistics_xlsx_neutralises_formulas_and_keeps_numbers(
        admin_knowledge: Knowledge) -> None:
    make_user(admin_knowledge, "camille")
    hyperlink = '=HYPERLINK("http://x","y")'
    make_ticket(admin_knowledge, "Q ?", theme=hyperlink,
                asker_id=make_asker(admin_knowledge, organisation="@SUM(1)"))
    make_ticket(admin_knowledge, "Q ?", theme="-2+3",
                asker_id=make_asker(admin_knowledge, organisation="+33 6 12 34 56 78"))
    with client_for(admin_knowledge) as client:
        log_in(client, "camille")
        workbook = client.get("/stats/export/tout.xlsx")
        themes_csv = client.get("/stats/export/themes.csv")
    sheets = load_workbook(io.BytesIO(workbook.content))
    cells = [row for sheet in ("Par thème", "Par organisme")
             for row in sheets[sheet].iter_rows(min_row=2)]
    names = {row[0].value: row for row in cells}
    for name in (hyperlink, "-2+3", "@SUM(1)", "+33 6 12 34 56 78"):
        row = names["'" + name]  # the quote a spreadsheet shows as text, as in the CSV
        questions = row[1] if name in (hyperlink, "-2+3") else row[2]
        assert row[0].data_type == "s"
        assert questions.value == 1 and questions.data_type == "n"
    assert not any(str(cell.value).startswith(("=", "+", "-", "@"))
                   for row in cells for cell in row if cell.data_type == "s")
    assert f"'{hyperlink}".replace('"', '""') in themes_csv.content.decode("utf-8-sig")
