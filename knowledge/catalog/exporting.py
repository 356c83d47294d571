"""Export entries to JSONL, CSV or XLSX files that the importer reads back unchanged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.catalog.sheets import CsvRows, xlsx_cell
from knowledge.catalog.tabular import (
    CONTINUATION_LABEL,
    FIELD_LABELS,
    JSON_KEYS,
    XLSX_CHUNK_CHARS,
    Field,
    FileFormat,
    join_list,
)
from knowledge.store.models import EntryStatus, KnowledgeEntry

logger = logging.getLogger(__name__)

COLUMNS = (Field.EXTERNAL_ID, Field.QUESTION, Field.ANSWER, Field.THEME, Field.TAGS,
           Field.LEGAL_REFERENCES, Field.SOURCE, Field.REVIEW_BY, Field.STATUS)
EXCEL_CELL_LIMIT = 32_767  # characters Excel shows in one cell
STATUS_LABELS = {EntryStatus.ACTIVE.value: "active", EntryStatus.RETIRED.value: "retirée"}
_BATCH = 500


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    format: FileFormat
    count: int
    too_long_for_excel: int  # CSV: entries with a text longer than an Excel cell shows


def export_entries(
    *,
    session: Session,
    out: IO[bytes],
    fmt: FileFormat,
    status: str | None = None,
) -> ExportReport:
    """Write every entry (or those of one status) to a binary stream, oldest first."""
    writer = _write_csv if fmt is FileFormat.CSV else _write_jsonl
    if fmt is FileFormat.XLSX:
        longest = session.scalar(_where_status(select(func.max(func.length(
            KnowledgeEntry.answer))), status)) or 0
        count, too_long = _write_xlsx(_entries(session=session, status=status), out,
                                      extra_columns=max(0, (longest - 1) // XLSX_CHUNK_CHARS))
    else:
        count, too_long = writer(_entries(session=session, status=status), out)
    logger.info("exported %s entries as %s", count, fmt.value)
    return ExportReport(format=fmt, count=count, too_long_for_excel=too_long)


def _entries(*, session: Session, status: str | None) -> Iterator[KnowledgeEntry]:
    # Batches by id keep memory flat on large bases without a server-side cursor (the identity
    # map holds entries weakly, so exported batches are released).
    last_id = 0
    while True:
        query = _where_status(select(KnowledgeEntry).where(KnowledgeEntry.id > last_id), status)
        batch = list(session.scalars(query.order_by(KnowledgeEntry.id).limit(_BATCH)))
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _where_status(query: Any, status: str | None) -> Any:
    return query if status is None else query.where(KnowledgeEntry.status == status)


def _json_record(entry: KnowledgeEntry) -> dict[str, Any]:
    values: dict[Field, Any] = {
        Field.EXTERNAL_ID: entry.external_id,
        Field.QUESTION: entry.question,
        Field.ANSWER: entry.answer,
        Field.THEME: entry.theme,
        Field.TAGS: list(entry.tags or []),
        Field.LEGAL_REFERENCES: list(entry.legal_references or []),
        Field.SOURCE: entry.source,
        Field.REVIEW_BY: entry.review_by.isoformat() if entry.review_by else None,
        Field.STATUS: entry.status,
    }
    return {JSON_KEYS[key]: values[key] for key in COLUMNS}


def _cells(entry: KnowledgeEntry) -> list[Any]:
    texts: dict[Field, str] = {
        Field.EXTERNAL_ID: entry.external_id or "",
        Field.QUESTION: entry.question,
        Field.ANSWER: entry.answer,
        Field.THEME: entry.theme or "",
        Field.TAGS: join_list(list(entry.tags or [])),
        Field.LEGAL_REFERENCES: join_list(list(entry.legal_references or [])),
        Field.SOURCE: entry.source or "",
        Field.STATUS: STATUS_LABELS.get(entry.status, entry.status),
    }
    cells: list[Any] = []
    for key in COLUMNS:
        if key is Field.REVIEW_BY:
            cells.append(entry.review_by)
        else:
            cells.append(texts[key])
    return cells


def _too_long(entry: KnowledgeEntry) -> bool:
    return max(len(entry.question), len(entry.answer)) > EXCEL_CELL_LIMIT


def _write_jsonl(rows: Iterator[KnowledgeEntry], out: IO[bytes]) -> tuple[int, int]:
    count = 0
    for entry in rows:
        line = json.dumps(_json_record(entry), ensure_ascii=False) + "\n"
        out.write(line.encode("utf-8"))
        count += 1
    return count, 0


def _write_csv(rows: Iterator[KnowledgeEntry], out: IO[bytes]) -> tuple[int, int]:
    # UTF-8 with a BOM: Excel then reads the accents right; ";" is the French list separator.
    text = io.StringIO(newline="")
    writer = CsvRows(text)
    writer.write([FIELD_LABELS[key] for key in COLUMNS])
    out.write("\ufeff".encode())
    count = too_long = 0
    for entry in rows:
        writer.write(["" if cell is None else
                         cell.isoformat() if hasattr(cell, "isoformat") else cell
                         for cell in _cells(entry)])
        count += 1
        too_long += _too_long(entry)
        if text.tell() > 1 << 20:
            out.write(text.getvalue().encode("utf-8"))
            text.seek(0)
            text.truncate()
    out.write(text.getvalue().encode("utf-8"))
    return count, too_long


def _write_xlsx(rows: Iterator[KnowledgeEntry], out: IO[bytes], *, extra_columns: int
                ) -> tuple[int, int]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Fiches")
    sheet.append([FIELD_LABELS[key] for key in COLUMNS]
                 + [CONTINUATION_LABEL.format(n=n) for n in range(1, extra_columns + 1)])
    answer_position = COLUMNS.index(Field.ANSWER)
    count = 0
    for entry in rows:
        values = _cells(entry)
        # Longer answers than a cell holds continue in "réponse (suite N)" columns.
        chunks = [entry.answer[start:start + XLSX_CHUNK_CHARS]
                  for start in range(0, len(entry.answer), XLSX_CHUNK_CHARS)]
        values[answer_position] = chunks[0]
        values += chunks[1:]
        sheet.append([xlsx_cell(sheet, value, "yyyy-mm-dd") for value in values])
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    out.write(buffer.getvalue())
    return count, 0
