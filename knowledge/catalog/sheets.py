"""Tables of figures (statistics, audit log) and their CSV and XLSX files.

One `Table` feeds the page, the CSV and the XLSX file, so what is downloaded is what is shown:
`format_cell` gives the text of a cell on the page and in the CSV; the XLSX keeps numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

CSV_DELIMITER = ";"  # the French list separator, as in the knowledge-base exports
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def _safe(text: str) -> str:
    # A cell a spreadsheet could run as a formula gets a leading quote (as the KB export does).
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(table: Table) -> bytes:
    """The table as CSV (UTF-8 with BOM for Excel, `;` separated), cells as on the page."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_safe(format_cell(cell)) for cell in row])
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def write_xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as an XLSX workbook, one sheet each; numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31].replace("/", "-"))
        sheet.append(list(table.columns))
        for row in table.rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet)
                if isinstance(value, Share):
                    cell.value, cell.number_format = value.value, "0.0%"
                elif isinstance(value, Days):
                    cell.value, cell.number_format = value.value, "0.0"
                elif isinstance(value, datetime):
                    cell.value, cell.number_format = value.replace(tzinfo=None), "dd/mm/yyyy hh:mm"
                elif isinstance(value, date):
                    cell.value, cell.number_format = value, "dd/mm/yyyy"
                elif isinstance(value, str):
                    cell.value = value
                    cell.data_type = "s"  # never a formula, even when it starts with "="
                else:
                    cell.value = value
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
