"""Tabular files of entries (JSONL, CSV, XLSX): column names, cell conventions and readers.

Conventions shared by the importer and the exporter (documented in docs/import-export.md):

- column names are matched case- and accent-insensitively, with French aliases;
- in CSV/XLSX cells, lists (tags, references) are separated by ``|``;
- a CSV/XLSX text cell that could be read as a formula gets a leading ``'`` on export, and
  exactly one leading ``'`` is removed on import when it protects such a cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from knowledge.errors import InvalidInput
from knowledge.text import fold


class FileFormat(StrEnum):
    """The file formats entries are imported from and exported to."""

    JSONL = "jsonl"
    CSV = "csv"
    XLSX = "xlsx"


class Field(StrEnum):
    """Canonical columns of an entries file."""

    EXTERNAL_ID = "external_id"
    QUESTION = "question"
    ANSWER = "answer"
    THEME = "theme"
    TAGS = "tags"
    LEGAL_REFERENCES = "legal_references"
    SOURCE = "source"
    REVIEW_BY = "review_by"
    STATUS = "status"


# French column headers written in CSV/XLSX exports, and used to name fields in reports.
FIELD_LABELS: dict[Field, str] = {
    Field.EXTERNAL_ID: "identifiant",
    Field.QUESTION: "question",
    Field.ANSWER: "réponse",
    Field.THEME: "thème",
    Field.TAGS: "étiquettes",
    Field.LEGAL_REFERENCES: "références",
    Field.SOURCE: "source",
    Field.REVIEW_BY: "à revoir le",
    Field.STATUS: "statut",
}

# Keys written in JSONL exports (those of the demo file where it has them).
JSON_KEYS: dict[Field, str] = {
    Field.EXTERNAL_ID: "id",
    Field.QUESTION: "question",
    Field.ANSWER: "answer",
    Field.THEME: "theme",
    Field.TAGS: "tags",
    Field.LEGAL_REFERENCES: "legal_references",
    Field.SOURCE: "source",
    Field.REVIEW_BY: "review_by",
    Field.STATUS: "status",
}

_ALIASES: dict[Field, tuple[str, ...]] = {
    Field.EXTERNAL_ID: ("id", "identifiant", "external id", "identifiant externe", "ref",
                        "reference fiche"),
    Field.QUESTION: ("question", "questions"),
    Field.ANSWER: ("reponse", "answer", "reponses"),
    Field.THEME: ("theme", "rubrique"),
    Field.TAGS: ("etiquettes", "etiquette", "tags", "tag", "mots cles"),
    Field.LEGAL_REFERENCES: ("references", "legal references", "references juridiques",
                             "references legales"),
    Field.SOURCE: ("source", "url", "lien"),
    Field.REVIEW_BY: ("a revoir le", "review by", "a revoir", "date de revision"),
    Field.STATUS: ("statut", "status", "etat"),
}

LIST_SEPARATOR = "|"
# Cells Excel or LibreOffice could evaluate (OWASP "CSV injection"); tab and CR included.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PROTECTED = re.compile(r"^'*[=+\-@\t\r]")
_PROTECTION_QUOTE = re.compile(r"^'+[=+\-@\t\r]")
SNIFF_DELIMITERS = (";", ",", "\t")
# An XLSX cell holds at most 32,767 characters: longer answers continue in extra columns.
XLSX_CHUNK_CHARS = 32_000
CONTINUATION_LABEL = "réponse (suite {n})"
_CONTINUATION = re.compile(r"^(?:reponse|answer) suite (\d+)$")


def column_field(name: str) -> Field | None:
    """Return the field a column header designates, or None when it is not one of ours."""
    key = fold(name.replace("_", " ").replace("-", " "))
    for known, aliases in _ALIASES.items():
        if key in aliases:
            return known
    return None


def continuation_number(name: str) -> int | None:
    """Return N when a column header is "réponse (suite N)", else None."""
    match = _CONTINUATION.match(fold(name))
    return int(match.group(1)) if match else None


def protect_cell(text: str) -> str:
    """Prefix a cell with ``'`` when a spreadsheet could evaluate it as a formula.

    Cells that already start with quotes followed by a trigger get one more quote, so that
    `unprotect_cell` gives back exactly the original text.
    """
    return "'" + text if _PROTECTED.match(text) else text


def unprotect_cell(text: str) -> str:
    """Remove the one ``'`` that `protect_cell` (or a spreadsheet user) put before a formula."""
    return text[1:] if _PROTECTION_QUOTE.match(text) else text


def join_list(values: list[str] | tuple[str, ...]) -> str:
    """Write a list (tags, references) into one cell."""
    return f" {LIST_SEPARATOR} ".join(values)


def split_list(cell: str) -> list[str]:
    """Read a list (tags, references) from one cell."""
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


@dataclass
class SourceRow:
    """One data row of a file: its number as a person sees it and its recognised cells."""

    number: int
    values: dict[Field, Any]
    problem: str | None = None  # the row could not be read at all (bad JSON, extra cells)
    unknown: list[str] = field(default_factory=list)  # keys of a JSON object we do not know


@dataclass
class TabularFile:
    """The rows of a file and what was noticed about its columns."""

    format: FileFormat
    rows: list[SourceRow]
    columns: set[Field] = field(default_factory=set)  # recognised columns (CSV/XLSX)
    ignored_columns: list[str] = field(default_factory=list)


def detect_format(data: bytes, filename: str) -> FileFormat:
    """Guess the format from the content first (XLSX is a zip), then from the file name."""
    if data.startswith(b"PK\x03\x04"):
        return FileFormat.XLSX
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in ("jsonl", "ndjson", "json"):
        return FileFormat.JSONL
    if suffix == "xlsx":
        return FileFormat.XLSX
    if suffix in ("csv", "txt", "tsv"):
        return FileFormat.CSV
    head = data.lstrip(codecs.BOM_UTF8).lstrip()[:1]
    return FileFormat.JSONL if head in (b"{", b"[") else FileFormat.CSV


def read_table(data: bytes, *, filename: str, fmt: FileFormat | None = None) -> TabularFile:
    """Read the rows of a file; raise InvalidInput with one French line when unreadable."""
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise InvalidInput(f"le fichier « {filename} » est vide.")
    fmt = fmt or detect_format(data, filename)
    if fmt is FileFormat.XLSX:
        return _read_xlsx(data, filename=filename)
    text = _decode(data, filename=filename)
    if fmt is FileFormat.JSONL:
        return _read_jsonl(text, filename=filename)
    return _read_csv(text, filename=filename)


def _decode(data: bytes, *, filename: str) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(f"« {filename} » est un classeur (XLSX ou zip), pas un fichier texte : "
                           "utilisez --format xlsx ou --format auto.")
    binary = f"« {filename} » n'est pas un fichier texte lisible (contenu binaire) : " \
        "attendu JSONL, CSV ou XLSX."
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try_decode(data, "utf-16")
    elif b"\x00" in data:
        raise InvalidInput(binary)
    elif data.startswith(codecs.BOM_UTF8):
        text = _try_decode(data[len(codecs.BOM_UTF8):], "utf-8")
    else:
        # Not UTF-8: French Excel writes Windows-1252 ("CSV (séparateur : point-virgule)").
        text = _try_decode(data, "utf-8")
        if text is None:
            text = _try_decode(data, "cp1252")
    if text is None:
        raise InvalidInput(f"encodage illisible dans « {filename} » : enregistrez le fichier en "
                           "UTF-8 (ou en CSV Windows depuis Excel).")
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n")
    if "\x00" in text or controls > max(3, len(text) // 100):
        raise InvalidInput(binary)
    return text


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _read_jsonl(text: str, *, filename: str) -> TabularFile:
    stripped = text.lstrip()
    if stripped.startswith("["):
        # A JSON array of objects is accepted too; its rows are numbered from 1.
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"« {filename} » n'est pas du JSON valide ({error.msg}, ligne "
                               f"{error.lineno}).") from None
        rows = [_json_row(number, item) for number, item in enumerate(items, start=1)]
        return _checked_json(TabularFile(format=FileFormat.JSONL, rows=rows), filename)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append(SourceRow(number=number, values={},
                                  problem=f"JSON invalide ({error.msg}, colonne {error.colno})"))
            continue
        rows.append(_json_row(number, item))
    return _checked_json(TabularFile(format=FileFormat.JSONL, rows=rows), filename)


def _checked_json(table: TabularFile, filename: str) -> TabularFile:
    if table.rows and all(row.problem for row in table.rows):
        raise InvalidInput(f"« {filename} » n'est pas un fichier JSONL (un objet JSON par ligne) : "
                           f"aucune ligne lisible.")
    ignored: dict[str, None] = {}
    for row in table.rows:
        for key in row.unknown:
            ignored.setdefault(key, None)
    table.ignored_columns = list(ignored)
    return table


def _json_row(number: int, item: Any) -> SourceRow:
    if not isinstance(item, dict):
        return SourceRow(number=number, values={}, problem="un objet JSON {…} est attendu")
    values: dict[Field, Any] = {}
    unknown = []
    for key, value in item.items():
        known = column_field(str(key))
        if known is None:
            unknown.append(str(key))
        elif known in values:
            return SourceRow(number=number, values={},
                             problem=f"le champ « {FIELD_LABELS[known]} » apparaît deux fois")
        else:
            values[known] = value
    return SourceRow(number=number, values=values, unknown=unknown)


def _read_csv(text: str, *, filename: str) -> TabularFile:
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in SNIFF_DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ";"
    # A 200,000-character answer is larger than the csv module's default field limit.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(_numbered_records(reader))
    except csv.Error as error:
        raise InvalidInput(f"CSV illisible dans « {filename} » (ligne {reader.line_num}) : "
                           f"{error}.") from None
    return _from_records(records, filename=filename, fmt=FileFormat.CSV, protected=True)


def _numbered_records(reader: Any) -> Iterator[tuple[int, list[Any]]]:
    # The number of a record is the line it starts on, as a text editor shows it.
    start = 1
    for record in reader:
        yield start, record
        start = reader.line_num + 1


def _read_xlsx(data: bytes, *, filename: str) -> TabularFile:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        raise InvalidInput(f"« {filename} » n'est pas un classeur XLSX lisible "
                           f"({type(error).__name__}).") from None
    except Exception as error:  # openpyxl raises many kinds on damaged files
        raise InvalidInput(f"« {filename} » n'est pas un classeur XLSX lisible "
                           f"({type(error).__name__}).") from None
    try:
        sheet = workbook.worksheets[0]
        records = [(number, list(values)) for number, values
                   in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    return _from_records(records, filename=filename, fmt=FileFormat.XLSX, protected=True)


def _from_records(records: list[tuple[int, list[Any]]], *, filename: str, fmt: FileFormat,
                  protected: bool) -> TabularFile:
    records = [(number, cells) for number, cells in records if not _blank(cells)]
    if not records:
        raise InvalidInput(f"le fichier « {filename} » est vide.")
    _, header = records[0]
    columns: dict[int, Field] = {}
    continuations: dict[int, int] = {}  # position -> N of "réponse (suite N)"
    seen: dict[Field, str] = {}
    ignored = []
    for position, name in enumerate(header):
        label = "" if name is None else str(name).strip().lstrip("\ufeff")
        if not label:
            continue
        known = column_field(label)
        if known is None:
            number = continuation_number(label)
            if number is None:
                ignored.append(label)
            else:
                continuations[position] = number
            continue
        if known in seen:
            raise InvalidInput(f"les colonnes « {seen[known]} » et « {label} » désignent toutes "
                               f"deux le champ « {FIELD_LABELS[known]} » : gardez-en une.")
        seen[known] = label
        columns[position] = known
    missing = [FIELD_LABELS[f] for f in (Field.QUESTION, Field.ANSWER) if f not in seen]
    if missing:
        found = ", ".join(f"« {label} »" for label in [*seen.values(), *ignored]) or "aucune"
        raise InvalidInput(f"colonne(s) {', '.join(missing)} absente(s) de « {filename} » "
                           f"(colonnes trouvées : {found}) : la première ligne doit nommer les "
                           "colonnes.")
    rows = []
    for number, cells in records[1:]:
        extra = [cell for position, cell in enumerate(cells)
                 if position >= len(header) and not _blank([cell])]
        if extra:
            rows.append(SourceRow(number=number, values={}, problem=(
                f"{len(cells)} cellules pour {len(header)} colonnes : vérifiez le séparateur "
                "et les guillemets")))
            continue
        values: dict[Field, Any] = {}
        for position, known in columns.items():
            cell = cells[position] if position < len(cells) else None
            values[known] = _cell_value(cell, protected=protected)
        if continuations and Field.ANSWER in values:
            parts = [_cell_value(cells[position], protected=protected)
                     for position in sorted(continuations, key=lambda p: continuations[p])
                     if position < len(cells) and cells[position] is not None]
            values[Field.ANSWER] = "".join(
                [str(values[Field.ANSWER] or ""), *(str(part) for part in parts)])
        rows.append(SourceRow(number=number, values=values))
    return TabularFile(format=fmt, rows=rows, columns=set(seen), ignored_columns=ignored)


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _cell_value(cell: Any, *, protected: bool) -> Any:
    if cell is None:
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, int | float):
        return str(cell)
    text = str(cell)
    return unprotect_cell(text) if protected else text
