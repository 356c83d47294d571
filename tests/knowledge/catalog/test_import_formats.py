"""Importing entries from JSONL, CSV (UTF-8, French Excel) and XLSX files."""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from knowledge.catalog import entries, importing
from knowledge.catalog.entries import EntryFilter
from knowledge.catalog.tabular import FileFormat
from knowledge.errors import InvalidInput
from knowledge.retrieval import embeddings
from knowledge.store.models import EntryStatus, KnowledgeEntry


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as JSON lines."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    """Write rows (header first) to the first sheet of a workbook."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def all_entries(session: Session) -> list[KnowledgeEntry]:
    """Every entry, active or retired, oldest first."""
    return entries.list_entries(session=session, criteria=EntryFilter(status=None))


def run_import(session: Session, path: Path, **options: Any) -> importing.ImportReport:
    """Import a file and commit, as the CLI does."""
    report = importing.import_file(session=session, path=path, **options)
    session.commit()
    return report


def problems(report: importing.ImportReport) -> list[tuple[int, str]]:
    """The skipped rows as (row number, field) pairs."""
    return [(problem.row, problem.field) for problem in report.skipped]


# --- each format ---------------------------------------------------------------------------


def test_jsonl_import_keeps_every_field(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"id": "SVP-1", "question": "Qui paie la TEOM ?", "answer": "Le locataire.",
         "theme": "Charges", "tags": ["TEOM", "charges"],
         "legal_references": ["CGI art. 1520", "Décret 87-713"],
         "source": "https://example.org/teom", "review_by": "2027-01-31"},
        {"id": "SVP-2", "question": "Le SLS s'applique-t-il en QPV ?", "answer": "Non.",
         "status": "retired"},
    ])
    report = run_import(session, path)
    assert (report.created, report.updated, report.unchanged, report.skipped) == (2, 0, 0, [])
    first, second = all_entries(session)
    assert first.external_id == "SVP-1"
    assert first.tags == ["TEOM", "charges"]
    assert first.legal_references == ["CGI art. 1520", "Décret 87-713"]
    assert first.source == "https://example.org/teom"
    assert first.review_by == date(2027, 1, 31)
    assert first.theme == "Charges"
    assert first.status == EntryStatus.ACTIVE
    assert second.status == EntryStatus.RETIRED


def test_utf8_csv_with_bom_and_french_headers(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_bytes(
        "\ufeffIdentifiant;Question;Réponse;Thème;Étiquettes;Références;URL;À revoir le\r\n"
        "A1;Qui paie la TEOM ?;\"Le locataire ;\r\nvia les charges.\";Charges;"
        "TEOM | charges;CGI art. 1520;https://example.org;15/03/2027\r\n".encode())
    report = run_import(session, path)
    assert report.format is FileFormat.CSV
    assert (report.created, report.skipped) == (1, [])
    [entry] = all_entries(session)
    assert entry.external_id == "A1"
    assert entry.answer == "Le locataire ;\nvia les charges."
    assert entry.theme == "Charges"
    assert entry.tags == ["TEOM", "charges"]
    assert entry.legal_references == ["CGI art. 1520"]
    assert entry.source == "https://example.org"
    assert entry.review_by == date(2027, 3, 15)


def test_french_excel_csv_in_windows_1252_with_semicolons(session: Session,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "export-excel.csv"
    text = ("id;question;réponse;thème\r\n"
            "X1;Quel est le délai de préavis ?;\"Un mois en zone tendue, 3 mois sinon ; "
            "l’état des lieux coûte 3 €/m².\";Congé\r\n"
            "X2;Qu'est-ce qu'un cœur de quartier ?;Un périmètre NPNRU.;Rénovation\r\n")
    path.write_bytes(text.encode("cp1252"))
    report = run_import(session, path)
    assert (report.created, report.skipped) == (2, [])
    first, second = all_entries(session)
    assert first.question == "Quel est le délai de préavis ?"
    assert first.answer == "Un mois en zone tendue, 3 mois sinon ; l’état des lieux coûte 3 €/m²."
    assert second.question == "Qu'est-ce qu'un cœur de quartier ?"
    assert second.theme == "Rénovation"


def test_comma_separated_utf8_csv_is_read_too(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "libreoffice.csv"
    path.write_text('question,answer,tags\n"Qui paie, et quand ?",Le bailleur.,a|b\n',
                    encoding="utf-8")
    report = run_import(session, path)
    assert (report.created, report.skipped) == (1, [])
    [entry] = all_entries(session)
    assert (entry.question, entry.tags) == ("Qui paie, et quand ?", ["a", "b"])


def test_excel_unicode_text_utf16_tab_separated_is_read(session: Session,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "texte-unicode.txt"
    path.write_bytes("question\tréponse\r\nQui paie l’eau ?\tLe locataire.\r\n"
                     .encode("utf-16"))
    report = run_import(session, path)
    assert (report.created, report.skipped) == (1, [])
    assert all_entries(session)[0].question == "Qui paie l’eau ?"


def test_json_array_of_objects_is_read_too(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.json"
    path.write_text(json.dumps([{"question": "Q1 ?", "answer": "R1."},
                                {"question": "Q2 ?", "réponse": "R2."}], ensure_ascii=False),
                    encoding="utf-8")
    report = run_import(session, path)
    assert (report.created, report.skipped) == (2, [])


def test_xlsx_import_reads_numbers_and_dates(session: Session, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "fiches.xlsx", [
        ["ID", "Question", "Réponse", "Thème", "À revoir le", "Commentaire interne"],
        [42, "Qui paie la TEOM ?", "Le locataire.", "Charges", datetime(2027, 6, 1), "vu"],
        [None, None, None, None, None, None],
        ["B-7", "Le SLS en QPV ?", "Non, exonéré.", None, "2027-07-01", None],
    ])
    report = run_import(session, path)
    assert report.format is FileFormat.XLSX
    assert (report.created, report.skipped) == (2, [])
    assert report.ignored_columns == ["Commentaire interne"]
    first, second = all_entries(session)
    assert (first.external_id, first.review_by, first.theme) == ("42", date(2027, 6, 1), "Charges")
    assert (second.external_id, second.review_by, second.theme) == ("B-7", date(2027, 7, 1), None)


def test_xlsx_is_recognised_by_content_whatever_its_name(session: Session,
                                                         tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "fiches.dat", [["question", "réponse"], ["Q ?", "R."]])
    assert run_import(session, path).created == 1


# --- bad rows --------------------------------------------------------------------------------


def test_bad_rows_are_reported_and_good_rows_imported(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text(
        "id;question;réponse;à revoir le;statut\n"
        "1;Première question ?;Réponse.;;\n"
        "2;Question sans réponse ?;;;\n"
        "3;Question datée ?;Réponse.;31/02/2027;\n"
        "4;Question au statut bizarre ?;Réponse.;;supprimée\n"
        "5;Trop de cellules ?;Réponse.;;;en trop\n"
        "6;;Réponse sans question.;;\n"
        "7;Dernière question ?;Réponse.;2027-12-31;active\n", encoding="utf-8")
    report = run_import(session, path)
    assert report.created == 2
    assert problems(report) == [(3, "réponse"), (4, "à revoir le"), (5, "statut"),
                                (6, "ligne"), (7, "question")]
    assert "date invalide" in report.skipped[1].reason
    assert str(report.skipped[0]) == "ligne 3, réponse : vide"
    assert [entry.external_id for entry in all_entries(session)] == ["1", "7"]


def test_bad_jsonl_lines_are_reported_with_their_line_number(session: Session,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "fiches.jsonl"
    path.write_text(
        '{"question": "Bonne ?", "answer": "Oui."}\n'
        "\n"
        '{"question": "Cassée ?", "answer": \n'
        '["pas", "un", "objet"]\n'
        '{"question": "Étiquettes ?", "answer": "R.", "tags": [1, 2]}\n'
        '{"question": "Sans réponse ?"}\n'
        '{"question": ["liste"], "answer": "R."}\n', encoding="utf-8")
    report = run_import(session, path)
    assert report.created == 1
    assert problems(report) == [(3, "ligne"), (4, "ligne"), (5, "étiquettes"),
                                (6, "réponse"), (7, "question")]
    assert report.skipped[3].reason == "absente"


def test_duplicate_ids_in_one_file_report_the_second_occurrence(session: Session,
                                                                tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"id": "D1", "question": "Première ?", "answer": "R1."},
        {"id": "D2", "question": "Deuxième ?", "answer": "R2."},
        {"id": "D1", "question": "Autre texte ?", "answer": "R3."},
    ])
    report = run_import(session, path)
    assert report.created == 2
    assert problems(report) == [(3, "identifiant")]
    assert "déjà utilisé ligne 1" in report.skipped[0].reason
    assert entries.get_by_external_id(session=session, external_id="D1").answer == "R1."


def test_same_question_twice_without_id_is_a_bad_row(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"question": "Qui paie la TEOM ?", "answer": "Le locataire."},
        {"question": "qui PAIE la teom", "answer": "Le bailleur."},
    ])
    report = run_import(session, path)
    assert report.created == 1
    assert problems(report) == [(2, "question")]
    assert [entry.answer for entry in all_entries(session)] == ["Le locataire."]


def test_answer_of_100000_characters_imports_whole(session: Session, tmp_path: Path) -> None:
    answer = ("Le locataire paie la taxe d'enlèvement des ordures ménagères. " * 2000)[:100_000]
    jsonl = write_jsonl(tmp_path / "long.jsonl", [
        {"id": "L1", "question": "Longue réponse ?", "answer": answer}])
    csv_path = tmp_path / "long.csv"
    csv_path.write_text(f"id;question;réponse\nL2;Longue réponse bis ?;{answer}\n",
                        encoding="utf-8")
    assert run_import(session, jsonl).created == 1
    assert run_import(session, csv_path).created == 1
    assert [len(entry.answer) for entry in all_entries(session)] == [
        len(answer.strip()), len(answer.strip())]


# --- unreadable files ------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \r\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
@pytest.mark.parametrize("name", ["vide.csv", "vide.jsonl", "vide.xlsx", "vide"])
def test_empty_file_is_one_clear_error(session: Session, tmp_path: Path, content: bytes,
                                       name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="est vide"):
        importing.import_file(session=session, path=path)


def test_binary_garbage_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(4096)
    for name in ("bruit.csv", "bruit.jsonl", "bruit.bin"):
        path = tmp_path / name
        path.write_bytes(noise)
        with pytest.raises(InvalidInput) as caught:
            importing.import_file(session=session, path=path)
        message = str(caught.value)
        assert "\n" not in message
        assert "binaire" in message or "encodage illisible" in message
    assert all_entries(session) == []


def test_image_renamed_as_csv_is_refused_as_binary(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(InvalidInput, match="binaire"):
        importing.import_file(session=session, path=path)


def test_unreadable_encoding_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    # 0x81 and 0x8d are neither UTF-8 nor Windows-1252.
    path.write_bytes(b"question;r\x81ponse\nQui ?;Le bailleur \x8d.\n")
    with pytest.raises(InvalidInput, match="encodage illisible"):
        importing.import_file(session=session, path=path)


def test_damaged_workbook_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    not_a_zip = tmp_path / "faux.xlsx"
    not_a_zip.write_bytes(b"question;reponse\nQ;R\n")
    with pytest.raises(InvalidInput, match="classeur XLSX"):
        importing.import_file(session=session, path=not_a_zip, fmt=FileFormat.XLSX)
    other_zip = tmp_path / "archive.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "rien à voir")
    other_zip.write_bytes(buffer.getvalue())
    with pytest.raises(InvalidInput, match="classeur XLSX"):
        importing.import_file(session=session, path=other_zip)


def test_wrong_forced_format_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("question;réponse\nQ ?;R.\nQ2 ?;R2.\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="JSONL"):
        importing.import_file(session=session, path=path, fmt=FileFormat.JSONL)


def test_file_without_answer_column_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("question;commentaire\nQ ?;R.\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="réponse"):
        importing.import_file(session=session, path=path)


def test_two_columns_for_the_same_field_are_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text("question;réponse;answer\nQ ?;R.;R.\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="toutes deux"):
        importing.import_file(session=session, path=path)


def test_missing_file_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="introuvable"):
        importing.import_file(session=session, path=tmp_path / "absent.csv")


# --- strict mode -----------------------------------------------------------------------------


def test_strict_mode_writes_nothing_when_a_row_is_bad(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"id": "S1", "question": "Bonne ?", "answer": "Oui."},
        {"id": "S2", "question": "Mauvaise ?", "answer": ""},
        {"id": "S3", "question": "Bonne aussi ?", "answer": "Oui."},
    ])
    report = run_import(session, path, strict=True)
    assert report.aborted
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert problems(report) == [(2, "réponse")]
    assert all_entries(session) == []


def test_strict_mode_imports_a_clean_file(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"id": "S1", "question": "Bonne ?", "answer": "Oui."}])
    report = run_import(session, path, strict=True)
    assert not report.aborted
    assert report.created == 1


def test_strict_mode_leaves_existing_entries_untouched(session: Session, tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"id": "S1", "question": "Bonne ?", "answer": "Oui."}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"id": "S1", "question": "Bonne ?", "answer": "Oui, modifiée."},
        {"id": "S2", "question": "Date ?", "answer": "R.", "review_by": "demain"}]),
        strict=True)
    assert report.aborted
    [entry] = all_entries(session)
    assert (entry.answer, entry.revision) == ("Oui.", 1)


# --- idempotence and revisions ----------------------------------------------------------------


def _same_content_in(fmt: str, tmp_path: Path) -> Path:
    rows = [
        {"id": "I1", "question": "Qui paie la TEOM ?", "answer": "Le locataire.",
         "tags": ["TEOM"], "review_by": "2027-01-01"},
        {"question": "Sans identifiant ?", "answer": "Reconnue par sa question."},
    ]
    if fmt == "jsonl":
        return write_jsonl(tmp_path / "fiches.jsonl", rows)
    header = ["id", "question", "réponse", "étiquettes", "à revoir le"]
    table = [header, ["I1", "Qui paie la TEOM ?", "Le locataire.", "TEOM", "2027-01-01"],
             ["", "Sans identifiant ?", "Reconnue par sa question.", "", ""]]
    if fmt == "xlsx":
        return write_xlsx(tmp_path / "fiches.xlsx", table)
    path = tmp_path / "fiches.csv"
    path.write_text("\n".join(";".join(row) for row in table) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_reimporting_the_same_file_changes_nothing(session: Session, tmp_path: Path,
                                                   fmt: str) -> None:
    path = _same_content_in(fmt, tmp_path)
    first = run_import(session, path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = run_import(session, path)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 2, [])
    assert [entry.revision for entry in all_entries(session)] == [1, 1]


def test_changed_row_updates_the_entry_and_keeps_a_revision(session: Session,
                                                            tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"id": "R1", "question": "Qui paie la TEOM ?", "answer": "Le locataire."},
        {"id": "R2", "question": "Autre ?", "answer": "Inchangée."}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"id": "R1", "question": "Qui paie la TEOM ?", "answer": "Le locataire, via les charges."},
        {"id": "R2", "question": "Autre ?", "answer": "Inchangée."}]))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    entry = entries.get_by_external_id(session=session, external_id="R1")
    assert entry is not None
    assert (entry.answer, entry.revision) == ("Le locataire, via les charges.", 2)
    first, second = entries.revisions(session=session, entry_id=entry.id)
    assert (first.answer, second.answer, second.reason) == (
        "Le locataire.", "Le locataire, via les charges.", "import v2.jsonl")


def test_row_without_id_is_matched_by_its_normalised_question(session: Session,
                                                              tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"question": "Qui paie la TEOM ?", "answer": "Le locataire."}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"question": "  QUI paie la Téom  ", "answer": "Le locataire, toujours."}]))
    assert (report.created, report.updated) == (0, 1)
    [entry] = all_entries(session)
    assert entry.answer == "Le locataire, toujours."


def test_an_id_given_later_is_attached_to_the_entry_of_that_question(session: Session,
                                                                     tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"question": "Qui paie la TEOM ?", "answer": "Le locataire."}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"id": "T1", "question": "Qui paie la TEOM ?", "answer": "Le locataire."}]))
    assert (report.created, report.updated) == (0, 1)
    [entry] = all_entries(session)
    assert entry.external_id == "T1"


def test_row_without_id_never_removes_the_entry_id(session: Session, tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"id": "K1", "question": "Qui paie la TEOM ?", "answer": "Le locataire."}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"question": "Qui paie la TEOM ?", "answer": "Le locataire."}]))
    assert report.unchanged == 1
    assert all_entries(session)[0].external_id == "K1"


def test_columns_absent_from_the_file_keep_their_values(session: Session,
                                                        tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"id": "C1", "question": "Q ?", "answer": "R.", "theme": "Charges",
         "tags": ["a"]}]))
    report = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"id": "C1", "question": "Q ?", "answer": "R.", "tags": []}]))
    assert report.updated == 1
    [entry] = all_entries(session)
    assert (entry.theme, entry.tags) == ("Charges", [])


def test_status_column_retires_and_reinstates(session: Session, tmp_path: Path) -> None:
    run_import(session, write_jsonl(tmp_path / "v1.jsonl", [
        {"id": "E1", "question": "Q ?", "answer": "R."}]))
    retired = run_import(session, write_jsonl(tmp_path / "v2.jsonl", [
        {"id": "E1", "question": "Q ?", "answer": "R.", "status": "retirée"}]))
    assert retired.updated == 1
    assert all_entries(session)[0].status == EntryStatus.RETIRED
    without_status = run_import(session, write_jsonl(tmp_path / "v3.jsonl", [
        {"id": "E1", "question": "Q ?", "answer": "R."}]))
    assert without_status.unchanged == 1
    assert all_entries(session)[0].status == EntryStatus.RETIRED
    run_import(session, write_jsonl(tmp_path / "v4.jsonl", [
        {"id": "E1", "question": "Q ?", "answer": "R.", "status": "active"}]))
    assert all_entries(session)[0].status == EntryStatus.ACTIVE


def test_progress_reports_every_row(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"question": f"Question {n} ?", "answer": "R."} for n in range(5)])
    seen: list[tuple[int, int]] = []
    run_import(session, path, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_imported_entries_are_embedded_and_found_at_once(knowledge: Any, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fiches.jsonl", [
        {"id": "V1", "question": "Qui paie la taxe d'enlèvement des ordures ménagères ?",
         "answer": "Le locataire, par les charges récupérables."},
        {"id": "V2", "question": "Comment contester un supplément de loyer de solidarité ?",
         "answer": "Par un recours gracieux auprès du bailleur."},
    ])
    with knowledge.session() as session:
        report = importing.import_file(session=session, path=path,
                                       embedder=knowledge.embedder)
    assert report.created == 2
    with knowledge.session() as session:
        assert embeddings.stale_entry_ids(session=session,
                                          model_id=knowledge.embedder.model_id) == []
    result = knowledge.similar("qui paie la taxe sur les ordures ménagères ?", k=1)
    assert [hit.external_id for hit in result.hits][:1] == ["V1"]
