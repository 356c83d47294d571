"""Import entries from JSONL, CSV or XLSX files: validate every row, then create or revise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit, privacy
from knowledge.catalog import entries, themes
from knowledge.catalog.entries import EntryFields
from knowledge.catalog.tabular import (
    FIELD_LABELS,
    Field,
    FileFormat,
    SourceRow,
    read_table,
    split_list,
)
from knowledge.errors import DomainError, InvalidInput
from knowledge.retrieval import embeddings
from knowledge.store.models import EntryStatus, KnowledgeEntry
from knowledge.text import clean, count_of, fold, question_hash

if TYPE_CHECKING:
    from index.embedders import Embedder

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

EMBED_BATCH_SIZE = 64

_STATUS_WORDS = {
    "active": EntryStatus.ACTIVE, "actif": EntryStatus.ACTIVE, "actives": EntryStatus.ACTIVE,
    "retired": EntryStatus.RETIRED, "retiree": EntryStatus.RETIRED,
    "retire": EntryStatus.RETIRED, "retirees": EntryStatus.RETIRED,
}
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y")
_CONTENT_FIELDS = {
    Field.QUESTION: "question", Field.ANSWER: "answer", Field.THEME: "theme",
    Field.TAGS: "tags", Field.LEGAL_REFERENCES: "legal_references", Field.SOURCE: "source",
    Field.REVIEW_BY: "review_by",
}


@dataclass(frozen=True)
class RowProblem:
    """Why one row of the file was not imported."""

    row: int
    field: str  # French name of the column at fault, or "ligne" for the whole row
    reason: str

    def __str__(self) -> str:
        return f"ligne {self.row}, {self.field} : {self.reason}"


@dataclass(frozen=True)
class NewTheme:
    """A theme the import adds to the managed list, and the listed themes it reads like."""

    name: str
    similar: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What an import did: counts of entries created, updated, unchanged, and skipped rows."""

    filename: str
    format: FileFormat
    strict: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    aborted: bool = False  # strict mode met a bad row: nothing was written
    dry_run: bool = False  # everything was checked and then undone
    entry_ids: list[int] = field(default_factory=list)  # entries created or updated
    allow_personal_data: bool = False
    # Rows in which the detector found personal data, and how many findings of each kind.
    personal_data_rows: int = 0
    personal_data: dict[str, int] = field(default_factory=dict)
    # Themes missing from the list that the written rows add to it (an import creates themes).
    new_themes: list[NewTheme] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Number of data rows read."""
        return self.created + self.updated + self.unchanged + len(self.skipped)


@dataclass
class _Candidate:
    number: int
    provided: dict[Field, Any]  # validated values of the columns the row has
    status: EntryStatus | None
    external_id: str | None
    content: EntryFields  # the row alone, normalised (as a new entry would be)


class _StrictAbort(Exception):
    """A row failed while writing in strict mode; unwinds the savepoint of the whole import."""


def import_file(
    *,
    session: Session,
    path: Path,
    fmt: FileFormat | None = None,
    strict: bool = False,
    actor: str = "import",
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    allow_personal_data: bool = False,
) -> ImportReport:
    """Import the entries of a file (format guessed when `fmt` is None); never commits."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"fichier introuvable : {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"« {path} » est un dossier, pas un fichier.") from None
    except OSError as error:
        raise InvalidInput(f"impossible de lire « {path} » : {error.strerror}.") from None
    return import_data(session=session, data=data, filename=path.name, fmt=fmt, strict=strict,
                       actor=actor, embedder=embedder, progress=progress, dry_run=dry_run,
                       allow_personal_data=allow_personal_data)


def import_data(
    *,
    session: Session,
    data: bytes,
    filename: str,
    fmt: FileFormat | None = None,
    strict: bool = False,
    actor: str = "import",
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    allow_personal_data: bool = False,
) -> ImportReport:
    """Import the entries of a file's bytes; bad rows are reported, or abort all when strict.

    With `dry_run` every row is written inside a savepoint that is then rolled back: the report
    is the real one and nothing stays in the database. A row whose question or answer holds
    personal data is a bad row unless `allow_personal_data`.
    """
    if dry_run:
        savepoint = session.begin_nested()
        try:
            report = import_data(session=session, data=data, filename=filename, fmt=fmt,
                                 strict=strict, actor=actor, progress=progress,
                                 allow_personal_data=allow_personal_data)
        finally:
            savepoint.rollback()
        report.dry_run = True
        return report
    table = read_table(data, filename=filename, fmt=fmt)
    report = ImportReport(filename=filename, format=table.format, strict=strict,
                          ignored_columns=table.ignored_columns,
                          allow_personal_data=allow_personal_data)
    candidates = _validate(table.rows, report)
    if strict and report.skipped:
        report.aborted = True
        logger.info("strict import of %s aborted: %s bad rows", filename, len(report.skipped))
        return report
    reason = f"import {filename}"
    total = len(candidates)
    listed = {theme.folded for theme in themes.list_themes(session=session)}
    try:
        with session.begin_nested():
            for done, candidate in enumerate(candidates, start=1):
                _write(session=session, candidate=candidate, report=report, actor=actor,
                       reason=reason, strict=strict)
                if progress is not None:
                    progress(done, total)
    except _StrictAbort:
        report.aborted = True
        report.created = report.updated = report.unchanged = 0
        report.entry_ids.clear()
        logger.info("strict import of %s aborted while writing", filename)
        return report
    report.new_themes = _new_themes(session=session, listed=listed)
    if report.personal_data and allow_personal_data and (report.created or report.updated):
        # Kinds and counts only: the audit log must not keep the data itself.
        audit.record(session=session, actor=actor, action="privacy.confirm",
                     object_type="import", object_id=filename[:64],
                     details={"personal_data": report.personal_data,
                              "rows": report.personal_data_rows})
    if embedder is not None:
        _embed(session=session, embedder=embedder, progress=progress, offset=total)
    logger.info("import of %s: %s created, %s updated, %s unchanged, %s skipped", filename,
                report.created, report.updated, report.unchanged, len(report.skipped))
    return report


def report_lines(report: ImportReport, max_problems: int = 200) -> tuple[list[str], list[str]]:
    """The report as French lines, (summary, problems), shared by the CLI and the web."""
    if report.aborted:
        summary = [f"Import annulé : {len(report.skipped)} ligne(s) invalide(s) dans "
                   f"« {report.filename} » ; rien n'a été enregistré (--strict)."]
    else:
        verb = "Essai sans enregistrement" if report.dry_run else "Import"
        summary = [f"{verb} de « {report.filename} » ({report.format.value.upper()}) : "
                   f"créées : {report.created}, mises à jour : {report.updated}, "
                   f"inchangées : {report.unchanged}, ignorées : {len(report.skipped)}."]
    if report.new_themes:
        summary.append(_new_themes_line(report))
    problems: list[str] = []
    if report.ignored_columns:
        names = ", ".join(f"« {name} »" for name in report.ignored_columns)
        problems.append(f"Colonnes non reconnues, ignorées : {names}.")
    if report.skipped:
        problems.append("Lignes ignorées :" if not report.aborted else "Lignes invalides :")
        problems += [f"  {problem}" for problem in report.skipped[:max_problems]]
        if len(report.skipped) > max_problems:
            problems.append(f"  … et {len(report.skipped) - max_problems} autre(s).")
    if report.personal_data_rows:
        kinds = _kinds_text(report.personal_data)
        if report.allow_personal_data:
            problems.append(f"Données personnelles probables importées sur autorisation, "
                            f"{report.personal_data_rows} ligne(s) : {kinds}.")
        else:
            problems.append(f"{report.personal_data_rows} ligne(s) refusée(s) pour données "
                            f"personnelles probables ({kinds}) : remplacez-les dans le fichier, "
                            "ou autorisez-les explicitement (--allow-personal-data).")
    return summary, problems


def _new_themes_line(report: ImportReport) -> str:
    count = len(report.new_themes)
    head = (count_of(count, "nouveau thème serait créé", "nouveaux thèmes seraient créés")
            if report.dry_run else count_of(count, "nouveau thème créé", "nouveaux thèmes créés"))
    names = ", ".join(_theme_text(theme) for theme in report.new_themes)
    line = f"{head} : {names}."
    if any(theme.similar for theme in report.new_themes):
        line += (" Un thème proche d'un thème de la liste fait sans doute double emploi : "
                 "corrigez-le dans le fichier, ou fusionnez-le ensuite sur la page Thèmes.")
    return line


def _theme_text(theme: NewTheme) -> str:
    if not theme.similar:
        return f"« {theme.name} »"
    close = ", ".join(f"« {name} »" for name in theme.similar)
    return f"« {theme.name} » (proche de {close})"


def _new_themes(*, session: Session, listed: set[str]) -> list[NewTheme]:
    """Themes of the list now that were not in it before (`listed`: their folded names)."""
    return [NewTheme(theme.name, tuple(
                other.name for other in themes.similar(session=session, name=theme.name)
                if other.folded in listed))
            for theme in themes.list_themes(session=session) if theme.folded not in listed]


def _kinds_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{privacy.KIND_LABELS[kind]} ({count})"
                     for kind, count in sorted(counts.items()))


def _personal_data(candidate: _Candidate, report: ImportReport) -> RowProblem | None:
    """Count a row's personal data; the problem to report when it is not allowed."""
    found = {label: privacy.scan(text) for label, text in (
        (FIELD_LABELS[Field.QUESTION], candidate.content.question),
        (FIELD_LABELS[Field.ANSWER], candidate.content.answer))}
    found = {label: findings for label, findings in found.items() if findings}
    if not found:
        return None
    report.personal_data_rows += 1
    for findings in found.values():
        for kind, count in privacy.counts(findings).items():
            report.personal_data[kind] = report.personal_data.get(kind, 0) + count
    if report.allow_personal_data:
        return None
    first = next(iter(found))
    details = " ; ".join(f"{label} : {_kinds_text(privacy.counts(findings))}"
                         for label, findings in found.items())
    return RowProblem(candidate.number, first, f"données personnelles probables — {details}")


def _embed(*, session: Session, embedder: Embedder, progress: Progress | None,
           offset: int) -> None:
    def shifted(done: int, total: int) -> None:
        # One progress bar for the whole import: rows first, then embeddings.
        if progress is not None:
            progress(offset + done, offset + total)

    embeddings.embed_missing(session=session, embedder=embedder, batch_size=EMBED_BATCH_SIZE,
                             progress=shifted)


def _write(*, session: Session, candidate: _Candidate, report: ImportReport, actor: str,
           reason: str, strict: bool) -> None:
    try:
        with session.begin_nested():
            outcome, entry_id = _apply(session=session, candidate=candidate, actor=actor,
                                       reason=reason)
    except DomainError as error:
        report.skipped.append(RowProblem(candidate.number, "ligne", str(error)))
        if strict:
            raise _StrictAbort from error
        return
    if outcome == "created":
        report.created += 1
    elif outcome == "updated":
        report.updated += 1
    else:
        report.unchanged += 1
        return
    report.entry_ids.append(entry_id)


def _apply(*, session: Session, candidate: _Candidate, actor: str, reason: str
           ) -> tuple[str, int]:
    entry = _match(session=session, candidate=candidate)
    if entry is None:
        # The reason marks revision 1 as imported: an import is not a publication.
        created = entries.create(session=session, content=candidate.content, actor=actor,
                                 reason=reason)
        if candidate.status is EntryStatus.RETIRED:
            entries.retire(session=session, entry_id=created.id, actor=actor, reason=reason)
        return "created", created.id
    current = EntryFields.of(entry)
    changes = {_CONTENT_FIELDS[key]: getattr(candidate.content, _CONTENT_FIELDS[key])
               for key in candidate.provided if key in _CONTENT_FIELDS}
    if changes.get("review_by", current.review_by) is None:
        changes.pop("review_by")  # every entry keeps a review date: an empty cell changes none
    # An import never removes an entry's external id: rows without one keep it.
    content = replace(current, **changes,
                      external_id=candidate.external_id or current.external_id)
    revision, status = entry.revision, entry.status
    entries.update(session=session, entry_id=entry.id, content=content, actor=actor,
                   reason=reason)
    if candidate.status is not None and candidate.status.value != entry.status:
        if candidate.status is EntryStatus.RETIRED:
            entries.retire(session=session, entry_id=entry.id, actor=actor, reason=reason)
        else:
            entries.reinstate(session=session, entry_id=entry.id, actor=actor, reason=reason)
    changed = entry.revision != revision or entry.status != status
    return ("updated" if changed else "unchanged"), entry.id


def _match(*, session: Session, candidate: _Candidate) -> KnowledgeEntry | None:
    if candidate.external_id is None:
        return entries.find_by_question(session=session, question=candidate.content.question)
    entry = entries.get_by_external_id(session=session, external_id=candidate.external_id)
    if entry is not None:
        return entry
    # The same question imported earlier from a file without ids gets this id now.
    return session.scalar(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.question_hash == question_hash(candidate.content.question),
               KnowledgeEntry.external_id.is_(None))
        .order_by(KnowledgeEntry.id)
        .limit(1)
    )


def _validate(rows: list[SourceRow], report: ImportReport) -> list[_Candidate]:
    """Check every row before anything is written, so strict mode can refuse the whole file."""
    parsed: list[_Candidate] = []
    for row in rows:
        if row.problem is not None:
            report.skipped.append(RowProblem(row.number, "ligne", row.problem))
            continue
        candidate = _parse_row(row, report)
        if candidate is None:
            continue
        problem = _personal_data(candidate, report)
        if problem is not None:
            report.skipped.append(problem)
            continue
        parsed.append(candidate)
    return _without_duplicates(parsed, report)


def _without_duplicates(parsed: list[_Candidate], report: ImportReport) -> list[_Candidate]:
    first_id_row: dict[str, int] = {}
    hashes_with_id: dict[str, int] = {}
    for candidate in parsed:
        if candidate.external_id is not None:
            first_id_row.setdefault(candidate.external_id, candidate.number)
            hashes_with_id.setdefault(question_hash(candidate.content.question), candidate.number)
    kept: list[_Candidate] = []
    seen_ids: set[str] = set()
    hashes_seen: dict[str, int] = {}
    for candidate in parsed:
        key = question_hash(candidate.content.question)
        if candidate.external_id is not None:
            if candidate.external_id in seen_ids:
                report.skipped.append(RowProblem(
                    candidate.number, FIELD_LABELS[Field.EXTERNAL_ID],
                    f"identifiant « {candidate.external_id} » déjà utilisé ligne "
                    f"{first_id_row[candidate.external_id]}"))
                continue
            seen_ids.add(candidate.external_id)
        else:
            # Without an id a row is matched by its question: two rows with the same question
            # would overwrite each other at every import.
            other = hashes_seen.get(key) or hashes_with_id.get(key)
            if other is not None:
                report.skipped.append(RowProblem(
                    candidate.number, FIELD_LABELS[Field.QUESTION],
                    f"même question que la ligne {other} (donnez un identifiant à chaque ligne)"))
                continue
        hashes_seen.setdefault(key, candidate.number)
        kept.append(candidate)
    report.skipped.sort(key=lambda problem: problem.row)
    return kept


def _parse_row(row: SourceRow, report: ImportReport) -> _Candidate | None:
    provided: dict[Field, Any] = {}
    problems: list[RowProblem] = []
    for key, raw in row.values.items():
        try:
            provided[key] = _PARSERS[key](raw)
        except _BadValue as error:
            problems.append(RowProblem(row.number, FIELD_LABELS[key], str(error)))
    for required in (Field.QUESTION, Field.ANSWER):
        label = FIELD_LABELS[required]
        if provided.get(required) is None and not any(p.field == label for p in problems):
            word = "absente" if required not in row.values else "vide"
            problems.append(RowProblem(row.number, label, word))
    if problems:
        # One line per bad row: the first problem is enough to fix the row.
        report.skipped.append(problems[0])
        return None
    content_values = {_CONTENT_FIELDS[key]: value for key, value in provided.items()
                      if key in _CONTENT_FIELDS}
    external_id = provided.get(Field.EXTERNAL_ID)
    try:
        content = EntryFields(**content_values, external_id=external_id).normalised()
    except InvalidInput as error:
        report.skipped.append(RowProblem(row.number, "ligne", str(error)))
        return None
    return _Candidate(number=row.number, provided=provided, status=provided.get(Field.STATUS),
                      external_id=content.external_id, content=content)


class _BadValue(Exception):
    """A cell's value is not acceptable; the message says why, in French."""


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _BadValue("texte attendu")
    value = clean(str(raw))
    return value or None


def _limited(limit: int) -> Callable[[Any], str | None]:
    def parse(raw: Any) -> str | None:
        value = _text(raw)
        if value is not None and len(value) > limit:
            raise _BadValue(f"{len(value)} caractères, au plus {limit} acceptés")
        return value

    return parse


def _list(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        if not all(isinstance(item, str) for item in raw):
            raise _BadValue("liste de textes attendue")
        return tuple(item for item in (clean(item) for item in raw) if item)
    if isinstance(raw, str):
        return tuple(split_list(raw))
    raise _BadValue("liste attendue (tableau JSON, ou valeurs séparées par « | »)")


def _date(raw: Any) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        raise _BadValue("date attendue (AAAA-MM-JJ ou JJ/MM/AAAA)")
    text = raw.strip()
    if not text:
        return None
    day = text.replace("T", " ").split(" ", 1)[0]
    try:
        return date.fromisoformat(day)
    except ValueError:
        pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(day, pattern).date()
        except ValueError:
            continue
    raise _BadValue(f"date invalide « {text} » (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")


def _status(raw: Any) -> EntryStatus | None:
    value = _text(raw)
    if value is None:
        return None
    status = _STATUS_WORDS.get(fold(value))
    if status is None:
        raise _BadValue(f"statut inconnu « {value} » (attendu « active » ou « retirée »)")
    return status


_PARSERS: dict[Field, Callable[[Any], Any]] = {
    Field.EXTERNAL_ID: _limited(entries.MAX_EXTERNAL_ID_CHARS),
    Field.QUESTION: _limited(entries.MAX_QUESTION_CHARS),
    Field.ANSWER: _limited(entries.MAX_ANSWER_CHARS),
    Field.THEME: _limited(entries.MAX_THEME_CHARS),
    Field.TAGS: _list,
    Field.LEGAL_REFERENCES: _list,
    Field.SOURCE: _text,
    Field.REVIEW_BY: _date,
    Field.STATUS: _status,
}
