"""`svp stats` and `svp digest`: the board's figures and the monthly digest from the shell."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from knowledge import privacy
from knowledge.catalog import digest as digest_service
from knowledge.catalog.sheets import format_cell
from knowledge.desk import statistics
from knowledge.desk.workdays import PARIS
from knowledge.text import count_of
from knowledge.timeutil import utcnow
from svp.cli.base import OperatorError, app, open_knowledge, settings


@app.command("stats")
def stats_command(
    start: Annotated[str | None, typer.Option(
        "--from", metavar="AAAA-MM-JJ",
        help="Premier jour (par défaut : début du mois, il y a un an).")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", metavar="AAAA-MM-JJ", help="Dernier jour inclus (par défaut : aujourd'hui).")
                   ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """Statistiques d'une période (les mêmes que la page Statistiques), et un an plus tôt."""
    current = settings()
    period = statistics.parse_period(start, end, today=utcnow().astimezone(PARIS).date())
    with open_knowledge(current) as knowledge, knowledge.session() as session:
        report = statistics.report(session=session, period=period,
                                   target_days=current.target_delay_days)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for table in report.tables():
        typer.echo(f"\n{table.title}")
        typer.echo(" | ".join(table.columns))
        for row in table.rows:
            typer.echo(" | ".join(format_cell(cell) for cell in row))


def _write_atomically(path: Path, content: bytes) -> None:
    # Written beside the target then renamed: an interrupted run never leaves half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@app.command("digest")
def digest_command(
    month: Annotated[str, typer.Argument(metavar="AAAA-MM", help="Mois de la lettre.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FICHIER", help="lettre.docx (Word) ou lettre.html.")],
    entry: Annotated[list[int] | None, typer.Option(
        "--entry", metavar="N", help="Fiche à retenir (répétable ; par défaut : toutes).")
                     ] = None,
    organisations: Annotated[bool, typer.Option(
        "--organisations", help="Citer les organismes à l'origine des questions.")] = False,
    introduction: Annotated[str, typer.Option("--introduction", help="Texte d'introduction.")
                            ] = "",
    allow_personal_data: Annotated[bool, typer.Option(
        "--allow-personal-data", rich_help_panel="Données personnelles",
        help="Écrit la lettre même si des données personnelles probables y sont trouvées "
             "(noms, adresses, téléphones...).")] = False,
) -> None:
    """Écrit la lettre « Les réponses du SVP » d'un mois (anonyme par défaut)."""
    kind = output.suffix.lower()
    if kind not in (".docx", ".html"):
        raise OperatorError("donnez un fichier .docx (Word) ou .html à -o.")
    if output.is_dir() or not output.parent.is_dir():
        raise OperatorError(f"impossible d'écrire « {output} » : le dossier n'existe pas.")
    chosen = digest_service.Month.parse(month)
    with open_knowledge() as knowledge, knowledge.session() as session:
        letter = digest_service.build(session=session, month=chosen, entry_ids=entry or None,
                                      show_organisations=organisations,
                                      introduction=introduction, names=knowledge.legal_names)
        try:
            digest_service.check_personal_data(session=session, digest=letter,
                                               confirmed=allow_personal_data, actor="cli")
        except privacy.PersonalDataFound as error:
            flagged = [str(item.entry_id) for item in letter.items
                       if privacy.scan(item.question) or privacy.scan(item.answer)]
            where = f" (fiches n° {', '.join(flagged)})" if flagged else ""
            kinds = ", ".join(f"{privacy.KIND_LABELS[kind]} ({count})" for kind, count
                              in sorted(privacy.counts(error.findings).items()))
            raise OperatorError(
                f"la lettre contient des données personnelles probables{where} : {kinds}. "
                "Corrigez ces fiches ou relancez avec --allow-personal-data.") from None
    content = (digest_service.render_docx(letter) if kind == ".docx"
               else digest_service.render_html(letter).encode("utf-8"))
    _write_atomically(output, content)
    chosen_entries = count_of(len(letter.items), "fiche", "fiches")
    typer.echo(f"{chosen_entries} dans la lettre de {chosen.label}, écrite dans « {output} ».",
               err=True)
