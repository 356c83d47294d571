"""Spreadsheet files: the one neutralising CSV and XLSX writer, and tables of figures.

Every export (knowledge base, statistics, audit log) writes its cells through `CsvRows` and
`xlsx_cell`, so a text a spreadsheet could run as a formula always gets its leading quote.
One `Table` feeds the page, the CSV and the XLSX file, so what is downloaded is what is shown:
`format_cell` gives the text of a cell on the page and in the CSV; the XLSX keeps numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, TYPE_CHECKING

from knowledge.catalog.tabular import protect_cell

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CSV_DELIMITER = ";"  # the French list separator, as in the knowledge-base exports


@dataclass(frozen=True)
class Share:
    """A proportion between 0 and 1, shown as a percentage."""

    value: float


@dataclass(frozen=True)
class Days:
    """A delay in working days (may be fractional, e.g. a median of 1.5)."""

    value: float


Cell = str | int | float | Share | Days | date | datetime | None


@dataclass(frozen=True)
class Table:
    """A titled table: `key` names its export files, `columns` head its rows."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _number(value: float, decimals: int = 1) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return text.replace(".", ",")


def format_cell(value: Cell) -> str:
    """French text of a cell: decimal comma, percentages, `—` for no value."""
    if value is None:
        return "—"
    if isinstance(value, Share):
        return f"{_number(value.value * 100)} %"
    if isinstance(value, Days):
        return _number(value.value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value, 2)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return value


class CsvRows:
    """A `;`-separated CSV writer whose every cell a spreadsheet could run gets a quote first."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")

    def write(self, cells: Sequence[str | int | None]) -> None:
        """Write one row: texts neutralised, whole numbers as they are, None as empty."""
        self._writer.writerow(["" if cell is None else protect_cell(cell)
                               if isinstance(cell, str) else str(cell) for cell in cells])


def xlsx_cell(sheet: WriteOnlyWorksheet, value: object,
              number_format: str | None = None) -> WriteOnlyCell:
    """An XLSX cell: a text is neutralised and typed as text, an empty one left blank."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        if not value:
            return WriteOnlyCell(sheet, value=None)
        cell = WriteOnlyCell(sheet, value=protect_cell(value))
        cell.data_type = "s"  # never a formula, and shown with its quote as in the CSV
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if number_format is not None:
        cell.number_format = number_format
    return cell


def write_csv(table: Table) -> bytes:
    """The table as CSV (UTF-8 with BOM for Excel, `;` separated), cells as on the page."""
    text = io.StringIO(newline="")
    rows = CsvRows(text)
    rows.write(table.columns)
    for row in table.rows:
        # A whole number stays a number ("-3" runs nothing); every text is neutralised.
        rows.write([cell if isinstance(cell, int) and not isinstance(cell, bool)
                    else format_cell(cell) for cell in row])
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def write_xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as an XLSX workbook, one sheet each; numbers stay numbers."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31].replace("/", "-"))
        sheet.append([xlsx_cell(sheet, column) for column in table.columns])
        for row in table.rows:
            sheet.append([_table_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _table_cell(sheet: WriteOnlyWorksheet, value: Cell) -> WriteOnlyCell:
    if isinstance(value, Share):
        return xlsx_cell(sheet, value.value, "0.0%")
    if isinstance(value, Days):
        return xlsx_cell(sheet, value.value, "0.0")
    if isinstance(value, datetime):
        return xlsx_cell(sheet, value.replace(tzinfo=None), "dd/mm/yyyy hh:mm")
    if isinstance(value, date):
        return xlsx_cell(sheet, value, "dd/mm/yyyy")
    return xlsx_cell(sheet, value)
