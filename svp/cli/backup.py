"""`svp backup ...`: archives of the database (create, verify, list, prune) and their restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from knowledge.people.sealed_secrets import SecretKeyError, key_id
from knowledge.store import backup, migrate
from knowledge.store.backup import BackupError, Manifest
from svp import secret_keys
from svp.cli.base import OperatorError, app, open_knowledge, settings
from svp.settings import Settings

backup_app = typer.Typer(
    help="Sauvegardes de la base de données : création, vérification, liste, rétention, "
    "restauration.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")

# The tables an operator recognises, in the summaries (every table is counted and checked).
SUMMARY = (("entries", "fiche(s)"), ("entry_revisions", "révision(s)"),
           ("tickets", "question(s)"), ("askers", "demandeur(s)"), ("users", "compte(s)"),
           ("api_tokens", "jeton(s) d'API"), ("audit_events", "événement(s) d'audit"))


def _size(octets: int) -> str:
    for unit, scale in (("Gio", 1 << 30), ("Mio", 1 << 20), ("Kio", 1 << 10)):
        if octets >= scale:
            return f"{octets / scale:.1f} {unit}".replace(".", ",")
    return f"{octets} octets"


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{counts.get(name, 0)} {label}" for name, label in SUMMARY]
    return (", ".join(parts) + f" ; {sum(counts.values())} ligne(s) dans {len(counts)} "
            "table(s)")


def _moment(manifest: Manifest) -> str:
    return manifest.created_at.strftime("%d/%m/%Y %H:%M:%S UTC")


def _current_key_ids(current: Settings) -> tuple[str, ...]:
    """Fingerprints of the configured keys (none when there is no key yet); never creates one."""
    try:
        keys = secret_keys.load(current, create=False)
    except SecretKeyError:
        return ()
    return tuple(key_id(key) for key in keys.keys)


def _refused(error: BackupError) -> OperatorError:
    return OperatorError(str(error))


@backup_app.command("create")
def create(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Fichier de l'archive (par défaut : svp-backup-AAAAMMJJ-HHMMSS.tar "
        "dans le dossier des sauvegardes, SVP_BACKUP_DIR).")] = None,
) -> None:
    """Sauvegarde la base dans une archive (base et manifeste), puis applique la rétention."""
    current = settings()
    folder = current.resolved_backup_dir()
    ids = _current_key_ids(current)
    try:
        archive = backup.create(database_url=current.resolved_database_url(), backup_dir=folder,
                                output=output, key_id=ids[0] if ids else None)
    except BackupError as error:
        raise _refused(error) from None
    typer.echo(f"Sauvegarde créée : {archive.path} ({_size(archive.size)}, base "
               f"{backup.DIALECT_FR[archive.manifest.dialect]}, schéma "
               f"{archive.manifest.database_revision}).")
    typer.echo(f"Contenu : {_summary(archive.manifest.counts)}.")
    if not ids:
        typer.echo("Attention : aucune clé de chiffrement des secrets n'est configurée ; "
                   "l'archive ne contient jamais de clé.", err=True)
    removed = backup.prune(backup_dir=folder, keep=current.backup_keep)
    if removed:
        typer.echo(f"Rétention : {len(removed)} ancienne(s) archive(s) supprimée(s) de {folder} "
                   f"(les {current.backup_keep} plus récentes sont gardées).")
    typer.echo("Rappel : la clé de chiffrement des secrets (fichier de clé ou SVP_SECRET_KEY) "
               "n'est pas dans l'archive ; sauvegardez-la à part.")


@backup_app.command("verify")
def verify(archive: Annotated[Path, typer.Argument(help="Archive à contrôler.")]) -> None:
    """Contrôle une archive sans rien restaurer (manifeste, taille et empreinte SHA-256)."""
    try:
        checked = backup.verify(path=archive)
    except BackupError as error:
        raise _refused(error) from None
    manifest = checked.manifest
    typer.echo(f"Archive intacte : {checked.path} ({_size(checked.size)}), faite le "
               f"{_moment(manifest)}, base {backup.DIALECT_FR[manifest.dialect]}, schéma "
               f"{manifest.database_revision}.")
    typer.echo(f"Contenu : {_summary(manifest.counts)}.")


@backup_app.command("list")
def list_archives() -> None:
    """Liste les archives du dossier des sauvegardes, de la plus récente à la plus ancienne."""
    folder = settings().resolved_backup_dir()
    listed = backup.list_archives(backup_dir=folder)
    if not listed:
        typer.echo(f"Aucune sauvegarde dans {folder}.")
        return
    typer.echo(f"Sauvegardes dans {folder} :")
    for item in listed:
        if item.manifest is None:
            typer.echo(f"  {item.path.name}  {_size(item.size):>10}  illisible : {item.problem}")
            continue
        manifest = item.manifest
        typer.echo(f"  {item.path.name}  {_size(item.size):>10}  {_moment(manifest)}  "
                   f"{backup.DIALECT_FR[manifest.dialect]}  schéma {manifest.database_revision}"
                   f"  {manifest.counts.get('entries', 0)} fiche(s)")


@backup_app.command("prune")
def prune() -> None:
    """Supprime les archives au-delà des SVP_BACKUP_KEEP plus récentes (0 : les garde toutes)."""
    current = settings()
    folder = current.resolved_backup_dir()
    removed = backup.prune(backup_dir=folder, keep=current.backup_keep)
    kept = len(backup.archives(backup_dir=folder))
    typer.echo(f"{len(removed)} fichier(s) supprimé(s), {kept} archive(s) gardée(s) dans "
               f"{folder}.")


@backup_app.command("restore")
def restore(
    archive: Annotated[Path, typer.Argument(help="Archive faite par « svp backup create ».")],
    force: Annotated[bool, typer.Option(
        "--force", help="Remplace une base qui contient déjà des données.")] = False,
) -> None:
    """Restaure une archive dans la base (vide) ; arrêtez d'abord le service."""
    current = settings()
    try:
        report = backup.restore(path=archive, database_url=current.resolved_database_url(),
                                force=force)
    except BackupError as error:
        raise _refused(error) from None
    manifest = report.manifest
    typer.echo(f"Sauvegarde du {_moment(manifest)} restaurée ; lignes vérifiées, égales au "
               "manifeste.")
    if report.replaced_rows:
        typer.echo(f"Données remplacées : {report.replaced_rows} ligne(s) de l'ancienne base.")
    typer.echo(f"Contenu : {_summary(report.counts)}.")
    _warn_other_key(current, manifest)
    if report.schema_behind:
        typer.echo(f"Schéma de la sauvegarde : {manifest.database_revision} ; le code attend "
                   f"{migrate.head_revision()} : lancez « svp db upgrade » puis "
                   "« svp index rebuild ».")
        return
    _rebuild_index(current)


def _warn_other_key(current: Settings, manifest: Manifest) -> None:
    """One line when the configured key is not the one the archive's secrets were sealed with."""
    if manifest.key_id is None or manifest.key_id in _current_key_ids(current):
        return
    typer.echo(f"Attention : la clé de chiffrement configurée n'est pas celle de la sauvegarde "
               f"(empreinte {manifest.key_id}) ; remettez le fichier de clé ou SVP_SECRET_KEY "
               "sauvegardé à part, sinon chaque compte devra réactiver sa double "
               "authentification (vérifiez avec « svp secrets check »).", err=True)


def _rebuild_index(current: Settings) -> None:
    """Rebuild the vector index from the restored vectors (nothing is embedded again)."""
    with open_knowledge(current) as knowledge:
        count = knowledge.rebuild_index()
    typer.echo(f"Index reconstruit depuis les vecteurs restaurés : {count} fiche(s) dans "
               f"{knowledge.index_dir}.")

