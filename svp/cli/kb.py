"""`svp kb ...`: import, export, list, show, retire and reinstate knowledge-base entries."""

from __future__ import annotations

import enum
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session

from knowledge.catalog import entries, exporting, history, importing, usage
from knowledge.catalog.entries import EntryFilter
from knowledge.catalog.exporting import EXCEL_CELL_LIMIT, STATUS_LABELS
from knowledge.catalog.importing import ImportReport
from knowledge.catalog.tabular import FileFormat, join_list
from knowledge.errors import NotFound
from knowledge.store.models import EntryStatus, KnowledgeEntry
from svp.cli.base import OperatorError, app, open_knowledge

kb_app = typer.Typer(help="Base de connaissances : import, export et consultation des fiches.",
                     no_args_is_help=True)
app.add_typer(kb_app, name="kb")

ACTOR = "cli"
PROGRESS_DELAY_SECONDS = 0.5
MAX_PROBLEMS_SHOWN = 200


class ImportFormat(enum.StrEnum):
    """Formats `svp kb import` reads."""

    AUTO = "auto"
    JSONL = "jsonl"
    CSV = "csv"
    XLSX = "xlsx"


class ExportFormat(enum.StrEnum):
    """Formats `svp kb export` writes."""

    JSONL = "jsonl"
    CSV = "csv"
    XLSX = "xlsx"


class StatusChoice(enum.StrEnum):
    """Which entries a command shows."""

    ACTIVE = "active"
    RETIRED = "retired"
    ALL = "all"

    def criteria(self) -> str | None:
        """The status to filter on, None for all."""
        return None if self is StatusChoice.ALL else self.value


class ProgressBar:
    """A progress bar on stderr that appears only once an operation lasts more than a moment."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.console = Console(stderr=True)
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task: object = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, done: int, total: int) -> None:
        """Record progress: `done` items out of `total`."""
        if self.progress is None:
            if (not self.console.is_terminal
                    or time.monotonic() - self.started < PROGRESS_DELAY_SECONDS):
                return
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeRemainingColumn(), console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        self.progress.update(self.task, completed=done, total=total)  # type: ignore[arg-type]


@kb_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(metavar="FICHIER",
                                         help="Fichier JSONL, CSV ou XLSX à importer.")],
    strict: Annotated[bool, typer.Option(
        "--strict", help="N'enregistre rien si une seule ligne est invalide.")] = False,
    fmt: Annotated[ImportFormat, typer.Option(
        "--format", help="Format du fichier (auto : deviné d'après le contenu et le nom).",
        case_sensitive=False)] = ImportFormat.AUTO,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Vérifie tout et affiche le rapport sans rien enregistrer.")] = False,
    allow_personal_data: Annotated[bool, typer.Option(
        "--allow-personal-data", rich_help_panel="Données personnelles",
        help="Importe aussi les lignes où des données personnelles probables sont trouvées "
             "(noms, adresses, téléphones...) : sans cette option, elles sont refusées comme "
             "des lignes invalides.")] = False,
) -> None:
    """Importe des fiches ; réimporter le même fichier ne crée rien de nouveau.

    Code de sortie 0 : import effectué (les lignes invalides sont listées et ignorées).

    Code de sortie 1 : rien d'importé (--strict et une ligne invalide, ou aucune valide).
    """
    if not file.exists():
        raise OperatorError(f"fichier introuvable : {file}")
    if not file.is_file():
        raise OperatorError(f"« {file} » n'est pas un fichier.")
    with (open_knowledge() as knowledge, ProgressBar(f"Import de {file.name}") as bar,
          knowledge.session() as session):
        report = importing.import_file(
            session=session, path=file,
            fmt=None if fmt is ImportFormat.AUTO else FileFormat(fmt.value),
            strict=strict, actor=ACTOR, embedder=None if dry_run else knowledge.embedder,
            progress=bar, dry_run=dry_run, allow_personal_data=allow_personal_data)
    _print_report(report)
    if report.aborted or (report.skipped and not report.created + report.updated
                          + report.unchanged):
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    summary, problems = importing.report_lines(report, MAX_PROBLEMS_SHOWN)
    for line in summary:
        typer.echo(line, err=report.aborted)
    for line in problems:
        typer.echo(line, err=True)


@kb_app.command("export")
def export_command(
    fmt: Annotated[ExportFormat | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="Format (par défaut : d'après l'extension de -o, sinon jsonl).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FICHIER",
        help="Fichier à écrire (sans -o : sortie standard ; obligatoire en XLSX).")] = None,
    status: Annotated[StatusChoice, typer.Option(
        "--status", case_sensitive=False, help="Fiches à exporter.")] = StatusChoice.ALL,
) -> None:
    """Exporte les fiches dans un fichier que « svp kb import » relit à l'identique."""
    chosen = fmt.value if fmt is not None else _format_of(output)
    file_format = FileFormat(chosen)
    if file_format is FileFormat.XLSX and output is None:
        raise OperatorError("le format XLSX s'écrit dans un fichier : ajoutez -o fiches.xlsx.")
    if output is not None and output.is_dir():
        raise OperatorError(f"« {output} » est un dossier : donnez un nom de fichier à -o.")
    if output is not None and not output.parent.is_dir():
        raise OperatorError(f"le dossier « {output.parent} » n'existe pas.")
    with open_knowledge(require_schema=True) as knowledge, knowledge.session() as session:
        report = _export(session, file_format, output, status.criteria())
    where = f"vers « {output} »" if output is not None else "sur la sortie standard"
    typer.echo(f"{report.count} fiche(s) exportée(s) ({file_format.value.upper()}) {where}.",
               err=True)
    if report.too_long_for_excel:
        typer.echo(f"Attention : {report.too_long_for_excel} fiche(s) dépassent "
                   f"{EXCEL_CELL_LIMIT} caractères dans une cellule ; Excel les tronquerait "
                   "s'il réenregistrait ce fichier (préférez XLSX ou JSONL pour les modifier).",
                   err=True)


def _format_of(output: Path | None) -> str:
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    return suffix if suffix in {f.value for f in ExportFormat} else ExportFormat.JSONL.value


def _export(session: Session, fmt: FileFormat, output: Path | None,
            status: str | None) -> exporting.ExportReport:
    if output is None:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        report = exporting.export_entries(session=session, out=stream, fmt=fmt, status=status)
        stream.flush()
        return report
    # Write beside the target and rename, so a failed export never leaves half a file.
    partial = output.with_name(f".{output.name}.partiel")
    try:
        with partial.open("wb") as stream:
            report = exporting.export_entries(session=session, out=stream, fmt=fmt,
                                              status=status)
        os.replace(partial, output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OperatorError(f"impossible d'écrire « {output} » : {error.strerror}.") from None
    finally:
        partial.unlink(missing_ok=True)
    return report


@kb_app.command("list")
def list_command(
    status: Annotated[StatusChoice, typer.Option(
        "--status", case_sensitive=False, help="Fiches à afficher.")] = StatusChoice.ACTIVE,
    theme: Annotated[str | None, typer.Option(
        "--theme", metavar="THÈME", help="Seulement ce thème.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", metavar="TEXTE", help="Texte contenu dans la question ou la réponse.")
    ] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", metavar="N", min=1, help="Nombre maximal de fiches affichées.")] = None,
    sort: Annotated[usage.UsageSort, typer.Option(
        "--sort", case_sensitive=False, metavar="ORDRE",
        help="id, suggested, solved, answers, likes ou dislikes.")
    ] = usage.UsageSort.ID,
) -> None:
    """Liste les fiches (numéro, identifiant, thème, question) ; texte et thème sans accents."""
    criteria = EntryFilter(status=status.criteria(), theme=theme, text=search)
    with open_knowledge() as knowledge, knowledge.session() as session:
        matching = entries.list_entries(session=session, criteria=criteria)
        total = len(matching)
        by_id = {entry.id: entry for entry in matching}
        ordered = usage.sort_ids(list(by_id), usage.usage(session=session, entry_ids=by_id),
                                 sort) if sort is not usage.UsageSort.ID else list(by_id)
        lines = [_summary_line(by_id[number]) for number in ordered[:limit]]
    for line in lines:
        typer.echo(line)
    shown = f"{len(lines)} fiche(s) affichée(s) sur {total}" if len(lines) < total else (
        f"{total} fiche(s)")
    typer.echo(f"{shown}.", err=True)


def _summary_line(entry: KnowledgeEntry) -> str:
    question = " ".join(entry.question.split())
    retired = " [retirée]" if entry.status == EntryStatus.RETIRED.value else ""
    theme = f" ({entry.theme})" if entry.theme else ""
    return f"{entry.id:>5}  {entry.external_id or '-':<12}{retired} {question}{theme}"


@kb_app.command("show")
def show_command(
    entry: Annotated[str, typer.Argument(
        metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")],
) -> None:
    """Affiche une fiche complète et l'historique de ses modifications."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        text = _describe(found, history.history(session=session, entry_id=found.id))
    typer.echo(text)


@kb_app.command("retire")
def retire_command(
    entry: Annotated[str, typer.Argument(
        metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")],
    reason: Annotated[str, typer.Option(
        "--reason", metavar="MOTIF",
        help="Pourquoi la fiche est retirée (gardé dans l'historique).")],
) -> None:
    """Retire une fiche : elle n'est plus proposée mais reste dans l'historique."""
    if not reason.strip():
        raise OperatorError("le motif est vide : précisez --reason.")
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        entries.retire(session=session, entry_id=found.id, actor=ACTOR, reason=reason.strip())
        number = found.id
    typer.echo(f"Fiche {number} retirée.")


@kb_app.command("reinstate")
def reinstate_command(
    entry: Annotated[str, typer.Argument(
        metavar="FICHE", help="Numéro de la fiche ou son identifiant externe.")],
    reason: Annotated[str | None, typer.Option(
        "--reason", metavar="MOTIF", help="Pourquoi la fiche redevient active.")] = None,
) -> None:
    """Remet en service une fiche retirée."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = resolve_entry(session, entry)
        entries.reinstate(session=session, entry_id=found.id, actor=ACTOR,
                          reason=reason.strip() if reason else None)
        number = found.id
    typer.echo(f"Fiche {number} remise en service.")


def resolve_entry(session: Session, key: str) -> KnowledgeEntry:
    """Find an entry by number, else by external id."""
    key = key.strip()
    if key.isascii() and key.isdigit() and len(key) <= 10:
        try:
            return entries.get(session=session, entry_id=int(key))
        except NotFound:
            pass
    found = entries.get_by_external_id(session=session, external_id=key) if key else None
    if found is None:
        raise NotFound("entry", key)
    return found


def _describe(entry: KnowledgeEntry, items: list[history.HistoryItem]) -> str:
    status = STATUS_LABELS.get(entry.status, entry.status)
    lines = [f"Fiche {entry.id}" + (f" — identifiant {entry.external_id}"
                                    if entry.external_id else "")
             + f" — {status}, révision {entry.revision}"]
    lines.append(f"Question : {entry.question}")
    for label, value in (("Thème", entry.theme),
                         ("Étiquettes", join_list(list(entry.tags or []))),
                         ("Références", join_list(list(entry.legal_references or []))),
                         ("Source", entry.source),
                         ("À revoir le", entry.review_by.isoformat() if entry.review_by else None)):
        if value:
            lines.append(f"{label} : {value}")
    lines.append(f"Créée le {_when(entry.created_at)}, modifiée le {_when(entry.updated_at)}.")
    lines += ["", "Réponse :", entry.answer, "", "Historique :"]
    for item in items:
        changed = f" ({', '.join(item.changed)})" if item.revision is not None and \
            item.revision.revision > 1 else ""
        reason = f" — motif : {item.reason}" if item.reason else ""
        lines.append(f"  {_when(item.at)}  {item.label}{changed}, par {item.actor_name}{reason}")
    return "\n".join(lines)


def _when(moment: object) -> str:
    return moment.strftime("%d/%m/%Y %H:%M UTC") if hasattr(moment, "strftime") else "?"
