"""`svp veille import|status|refresh`: the regulatory watch, from the DILA LEGI archives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from knowledge.errors import InvalidInput
from knowledge.timeutil import utcnow
from knowledge.watch import flags, legi_download, legi_import
from knowledge.watch import status as watch_status
from svp.cli.base import OperatorError, app, open_knowledge, settings

watch_app = typer.Typer(help="Veille réglementaire : import des archives LEGI (DILA), fiches "
                             "signalées quand un texte cité change.", no_args_is_help=True)
app.add_typer(watch_app, name="veille")
ACTOR = "cli:veille"


@watch_app.command("import")
def import_command(
    archives: Annotated[list[Path], typer.Argument(
        metavar="ARCHIVE|DOSSIER...", help="Archives LEGI (.tar.gz : dump complet ou "
        "incréments quotidiens), ou le dossier où « svp veille download » les dépose (seules "
        "les nouvelles y sont lues).")],
) -> None:
    """Importe des archives LEGI ; les fiches qui citent un texte modifié sont signalées."""
    current = settings()
    with open_knowledge(current) as knowledge:
        files: list[Path] = []
        for given in archives:
            if given.is_dir():
                try:
                    with knowledge.reading() as session:
                        files.extend(legi_import.archives_to_import(session=session,
                                                                    directory=given))
                except InvalidInput as error:
                    raise OperatorError(str(error)) from None
            else:
                files.append(given)
        if not files:
            typer.echo("Aucune nouvelle archive à importer.")
            return
        for path in sorted(files, key=lambda path: (legi_import.archive_order(path.name),
                                                    str(path))):
            try:
                with knowledge.session() as session:
                    report = legi_import.import_archive(
                        session=session, path=path, names=knowledge.legal_names, actor=ACTOR,
                        today=utcnow().date(), scratch_dir=current.veille_scratch_dir)
            except InvalidInput as error:
                raise OperatorError(str(error)) from None
            if report.already_imported:
                typer.echo(f"{report.archive_name} : déjà importée (import n° "
                           f"{report.import_id}), rien de changé.")
                continue
            typer.echo(f"{report.archive_name} : {report.files_read} fichiers lus, "
                       f"{report.articles_kept} versions d'articles et {report.texts_kept} de "
                       f"textes cités gardées ({report.new_versions} nouvelles, "
                       f"{report.removed} retirées), {report.flags_raised} fiche(s) à revoir "
                       f"signalée(s), en {report.seconds:.1f} s.")


@watch_app.command("download")
def download_command(
    directory: Annotated[Path, typer.Argument(
        metavar="DOSSIER", help="Où déposer les archives (les fichiers déjà là ne sont pas "
        "retéléchargés).")],
) -> None:
    """Télécharge les archives LEGI publiées par la DILA qui manquent dans le dossier."""
    current = settings()
    try:
        fetched = legi_download.download(url=current.veille_legi_url, directory=directory)
    except InvalidInput as error:
        raise OperatorError(str(error)) from None
    typer.echo(f"{len(fetched)} archive(s) téléchargée(s) dans {directory}"
               + (f" : {', '.join(path.name for path in fetched)}." if fetched else "."))


@watch_app.command("refresh")
def refresh_command() -> None:
    """Recalcule les fiches signalées d'après les versions déjà importées."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        raised = flags.refresh(session=session, names=knowledge.legal_names,
                               today=utcnow().date())
    typer.echo(f"{raised} nouveau(x) signalement(s).")


@watch_app.command("status")
def status_command(as_json: Annotated[bool, typer.Option(
        "--json", help="Sortie JSON (pour un script).")] = False) -> None:
    """Affiche le dernier import et les fiches signalées à revoir."""
    with open_knowledge() as knowledge, knowledge.session() as session:
        found = watch_status.status(session=session)
        flagged = found.flagged
        last = found.last_import
        payload: dict[str, Any] = {
            "imports": found.imports, "article_versions": found.article_versions,
            "text_versions": found.text_versions, "open_flags": found.open_flags,
            "flagged_entries": len(flagged),
            "last_import": None if last is None else {
                "id": last.id, "archive": last.archive_name, "kind": last.kind,
                "stamp": last.stamp, "imported_at": last.imported_at.isoformat(),
                "files_read": last.files_read, "new_versions": last.new_versions,
                "flags_raised": last.flags_raised},
            "entries": [{"entry": entry.id, "question": entry.question,
                         "reasons": [flag.reason for flag in entry_flags]}
                        for entry, entry_flags in flagged],
        }
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if last is None:
        typer.echo("Aucune archive LEGI importée : la veille ne signale rien "
                   "(lancez « svp veille import ARCHIVE »).")
        return
    kind = "dump complet" if last.kind == "global" else "incrément"
    typer.echo(f"Dernier import : {last.archive_name} ({kind}), "
               f"le {last.imported_at.strftime('%d/%m/%Y %H:%M')} UTC — {last.files_read} "
               f"fichiers, {last.new_versions} nouvelles versions, {last.flags_raised} "
               "signalement(s).")
    typer.echo(f"Textes gardés : {found.article_versions} versions d'articles, "
               f"{found.text_versions} versions de textes ; {found.imports} import(s).")
    if not flagged:
        typer.echo("Aucune fiche à revoir pour un changement de texte.")
        return
    typer.echo(f"{len(flagged)} fiche(s) à revoir :")
    for entry, entry_flags in flagged:
        typer.echo(f"  fiche {entry.id} — {entry.question[:80]}")
        for flag in entry_flags:
            typer.echo(f"      {flag.reason}")
