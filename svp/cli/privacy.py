"""`svp privacy ...`: retention purge, and the access and erasure requests of askers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from knowledge.people import data_requests, retention
from svp.cli.base import OperatorError, app, open_knowledge, settings
from svp.runtime import retention_policy

privacy_app = typer.Typer(help="Données personnelles : conservation, accès, effacement.",
                          no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")

_ACTOR = "cli"
_FORMATS = ("json", "csv")


@privacy_app.command("purge")
def purge_command(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Compte ce qui serait effacé, sans rien modifier.")] = False,
) -> None:
    """Applique les durées de conservation (SVP_RETENTION_*) et affiche les nombres."""
    current = settings()
    with open_knowledge(current) as knowledge, \
            (knowledge.reading() if dry_run else knowledge.session()) as session:
        report = retention.purge(session=session, policy=retention_policy(current),
                                 actor=_ACTOR, dry_run=dry_run)
    width = max(len(label) for label in retention.CATEGORIES.values())
    typer.echo("Simulation : rien n'a été modifié." if dry_run else "Purge effectuée.")
    for name, label in retention.CATEGORIES.items():
        typer.echo(f"  {label:<{width}}  {report.counts[name]:>7}")
    typer.echo(f"  {'Total':<{width}}  {report.total:>7}")


def _asker_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise OperatorError(f"numéro de demandeur invalide : « {value} » (attendu : un entier "
                            "positif, voir la page Demandeurs).")
    return int(value)


@privacy_app.command("export-asker")
def export_asker_command(
    asker: Annotated[str, typer.Argument(metavar="ID", help="Numéro du demandeur.")],
    fmt: Annotated[str, typer.Option("--format", help="json ou csv.")] = "json",
    output: Annotated[Path | None, typer.Option(
        "--output", help="Fichier à écrire (par défaut : la sortie standard).")] = None,
) -> None:
    """Exporte toutes les données d'un demandeur (droit d'accès et de portabilité)."""
    if fmt not in _FORMATS:
        raise OperatorError(f"format inconnu : « {fmt} » (attendu : json ou csv).")
    asker_id = _asker_id(asker)
    with open_knowledge() as knowledge, knowledge.session() as session:
        data = data_requests.asker_data(session=session, asker_id=asker_id)
    content = data_requests.to_json(data) if fmt == "json" else data_requests.to_csv(data)
    if output is None:
        typer.echo(content.decode("utf-8-sig"), nl=False)
        return
    try:
        output.write_bytes(content)
    except OSError as error:
        raise OperatorError(f"impossible d'écrire {output} : {error.strerror}.") from error
    typer.echo(f"Données du demandeur {asker_id} écrites dans {output}.", err=True)


@privacy_app.command("erase-asker")
def erase_asker_command(
    asker: Annotated[str, typer.Argument(metavar="ID", help="Numéro du demandeur.")],
    yes: Annotated[bool, typer.Option("--yes", help="Ne pas demander de confirmation.")] = False,
) -> None:
    """Efface les données personnelles d'un demandeur dans toutes les tables."""
    asker_id = _asker_id(asker)
    if not yes and not typer.confirm(
            f"Effacer définitivement les données personnelles du demandeur {asker_id} ?"):
        raise OperatorError("effacement annulé.")
    with open_knowledge() as knowledge, knowledge.session() as session:
        # The embedder re-embeds at once an entry whose text held the asker's name.
        erasure = data_requests.erase_asker(session=session, asker_id=asker_id, actor=_ACTOR,
                                            embedder=knowledge.embedder)
    details = ", ".join(f"{name} {count}" for name, count in erasure.counts.items())
    typer.echo(f"Données du demandeur {asker_id} effacées ({details}).")
