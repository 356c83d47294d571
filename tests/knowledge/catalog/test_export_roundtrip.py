"""Exports read back by the importer give the same entries; spreadsheet cells are neutralised."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from knowledge.catalog import entries, exporting, importing, sheets
from knowledge.catalog.entries import EntryFields, EntryFilter
from knowledge.catalog.tabular import FileFormat, protect_cell, unprotect_cell
from knowledge.store import migrate
from knowledge.store.db import make_engine, make_session_factory

LONG_ANSWER = ("Article L. 442-5 du CCH ; voir aussi l'arrêté du 22 décembre 2020.\n" * 1600)[
    :100_000].strip()

SAMPLES = [
    EntryFields(question="Qui paie la TEOM ?", answer="Le locataire, via les charges.",
                theme="Charges", tags=("TEOM", "charges récupérables"),
                legal_references=("CGI art. 1520", "Décret n° 87-713"),
                source="https://www.service-public.fr/F1", review_by=date(2027, 3, 1),
                external_id="RT-1"),
    EntryFields(question="=1+1 est-il calculé ?", answer="-5 % sur le loyer ; \"guillemets\"",
                tags=("-négatif", "@mention"), legal_references=("+33 1 23 45 67 89",),
                external_id="RT-2"),
    EntryFields(question="Une réponse sur plusieurs lignes ?",
                answer="Première ligne.\n\n- puce un\n- puce deux\n\tindentée ;|; fin",
                theme="Mise en forme"),
    EntryFields(question="'=déjà protégée ?", answer="'+ et ''@ restent tels quels",
                external_id="RT-4"),
    EntryFields(question="Une très longue réponse ?", answer=LONG_ANSWER, external_id="RT-5"),
    EntryFields(question="Fiche retirée ?", answer="Ne plus proposer.", external_id="RT-6"),
]


def fill(session: Session) -> None:
    """Create the sample entries (the last one retired) and commit."""
    for content in SAMPLES:
        entries.create(session=session, content=content, actor="test")
    retired = entries.get_by_external_id(session=session, external_id="RT-6")
    assert retired is not None
    entries.retire(session=session, entry_id=retired.id, actor="test", reason="obsolète")
    session.commit()


def snapshot(session: Session) -> list[tuple[EntryFields, str]]:
    """Content and status of every entry, in a comparable form."""
    found = entries.list_entries(session=session, criteria=EntryFilter(status=None))
    return sorted(((EntryFields.of(entry), entry.status) for entry in found),
                  key=lambda item: item[0].question)


def export_bytes(session: Session, fmt: FileFormat) -> bytes:
    """Export every entry in a format."""
    out = io.BytesIO()
    exporting.export_entries(session=session, out=out, fmt=fmt)
    return out.getvalue()


@pytest.fixture
def target_engine(empty_database_url: str) -> Iterator[Engine]:
    """A second, freshly migrated and empty database to import into."""
    engine = make_engine(empty_database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_export_then_import_into_empty_database_gives_same_entries(
        session: Session, target_engine: Engine, fmt: FileFormat) -> None:
    fill(session)
    data = export_bytes(session, fmt)
    with make_session_factory(target_engine)() as target:
        report = importing.import_data(session=target, data=data, filename=f"export.{fmt}",
                                       strict=True)
        target.commit()
        assert (report.created, report.skipped, report.ignored_columns) == (len(SAMPLES), [], [])
        assert snapshot(target) == snapshot(session)
        again = importing.import_data(session=target, data=data, filename=f"export.{fmt}")
        assert (again.created, again.updated, again.unchanged) == (0, 0, len(SAMPLES))


def test_csv_export_is_what_french_excel_expects(session: Session) -> None:
    fill(session)
    data = export_bytes(session, FileFormat.CSV)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["identifiant", "question", "réponse", "thème", "étiquettes", "références",
                       "source", "à revoir le", "statut"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["étiquettes"] == "TEOM | charges récupérables"
    assert first["à revoir le"] == "2027-03-01"
    assert first["statut"] == "active"
    assert dict(zip(rows[0], rows[-1], strict=True))["statut"] == "retirée"


def test_csv_cells_that_look_like_formulas_are_neutralised(session: Session) -> None:
    fill(session)
    rows = list(csv.reader(io.StringIO(export_bytes(session, FileFormat.CSV).decode("utf-8-sig"),
                                       newline=""), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert "'=1+1 est-il calculé ?" in cells
    assert "'-5 % sur le loyer ; \"guillemets\"" in cells
    assert "'-négatif | @mention" in cells
    assert "'+33 1 23 45 67 89" in cells
    assert "''=déjà protégée ?" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_xlsx_cells_are_text_never_formulas(session: Session) -> None:
    fill(session)
    workbook = load_workbook(io.BytesIO(export_bytes(session, FileFormat.XLSX)))
    sheet = workbook.worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell for cell in cells if cell.data_type == "f"]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert "'=1+1 est-il calculé ?" in texts
    assert not [text for text in texts if text[:1] in ("=", "+", "-", "@")]


def test_tables_of_figures_are_neutralised_as_the_entries_are() -> None:
    table = sheets.Table(key="themes", title="Par thème", columns=("thème", "questions"),
                         rows=(("'=déjà protégée", -3), ("@SUM(1)", 2)))
    rows = list(csv.reader(io.StringIO(sheets.write_csv(table).decode("utf-8-sig"),
                                       newline=""), delimiter=";"))
    cells = load_workbook(io.BytesIO(sheets.write_xlsx([table]))).worksheets[0]
    assert rows[1:] == [[protect_cell("'=déjà protégée"), "-3"], ["'@SUM(1)", "2"]]
    assert [(cell.value, cell.data_type) for row in cells.iter_rows(min_row=2)
            for cell in row] == [("''=déjà protégée", "s"), (-3, "n"), ("'@SUM(1)", "s"),
                                 (2, "n")]


def test_xlsx_continues_long_answers_in_extra_columns(session: Session) -> None:
    fill(session)
    workbook = load_workbook(io.BytesIO(export_bytes(session, FileFormat.XLSX)), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert rows[0][-3:] == ("réponse (suite 1)", "réponse (suite 2)", "réponse (suite 3)")
    assert max(len(value) for row in rows for value in row if isinstance(value, str)) <= 32_767
    workbook.close()


def test_jsonl_export_uses_the_demo_file_keys(session: Session) -> None:
    fill(session)
    first = json.loads(export_bytes(session, FileFormat.JSONL).splitlines()[0])
    assert first == {
        "id": "RT-1", "question": "Qui paie la TEOM ?",
        "answer": "Le locataire, via les charges.", "theme": "Charges",
        "tags": ["TEOM", "charges récupérables"],
        "legal_references": ["CGI art. 1520", "Décret n° 87-713"],
        "source": "https://www.service-public.fr/F1", "review_by": "2027-03-01",
        "status": "active"}


def test_export_of_one_status_only(session: Session) -> None:
    fill(session)
    out = io.BytesIO()
    report = exporting.export_entries(session=session, out=out, fmt=FileFormat.JSONL,
                                      status="retired")
    assert report.count == 1
    assert json.loads(out.getvalue())["id"] == "RT-6"


@pytest.mark.parametrize("text", ["=A1", "+1", "-1", "@x", "\tx", "\rx", "'=A1", "''+1",
                                  "'texte", "texte", "", "'", "a=b"])
def test_protection_quote_is_removed_exactly(text: str) -> None:
    assert unprotect_cell(protect_cell(text)) == text


def test_hand_typed_protection_quote_is_removed_on_import(session: Session) -> None:
    data = "question;réponse\n'=Qui paie ?;'-5 %\n".encode()
    report = importing.import_data(session=session, data=data, filename="saisie.csv")
    assert report.created == 1
    [entry] = entries.list_entries(session=session)
    assert (entry.question, entry.answer) == ("=Qui paie ?", "-5 %")
