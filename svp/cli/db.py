"""`svp init` and `svp db ...`: create and upgrade the database."""

from __future__ import annotations

import typer

from knowledge.store import migrate
from svp.cli.base import app, open_knowledge, sealing_keys, settings

db_app = typer.Typer(help="Gestion du schéma de la base de données.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command("init")
def init() -> None:
    """Crée la base de données ou la met à jour (sans effet si elle est à jour)."""
    current = settings()
    with open_knowledge(current, require_schema=False) as knowledge:
        before = migrate.current_revision(knowledge.engine)
        # Once the database answered: an unreachable one is the only thing to report.
        keys = sealing_keys(current)
        migrate.upgrade(knowledge.engine, secret_keys=keys.keys)
        after = migrate.current_revision(knowledge.engine)
    if before == after:
        typer.echo(f"Base de données déjà à jour (version {after}).")
    else:
        typer.echo(f"Base de données prête (version {after}).")


@db_app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Version cible (par défaut la plus récente)."),
) -> None:
    """Applique les migrations jusqu'à la version demandée."""
    current = settings()
    with open_knowledge(current, require_schema=False) as knowledge:
        migrate.current_revision(knowledge.engine)  # the database answers before a key is made
        keys = sealing_keys(current)
        migrate.upgrade(knowledge.engine, revision, secret_keys=keys.keys)
        typer.echo(f"Base de données à la version {migrate.current_revision(knowledge.engine)}.")


@db_app.command("current")
def current() -> None:
    """Affiche la version du schéma de la base de données."""
    with open_knowledge(require_schema=False) as knowledge:
        revision = migrate.current_revision(knowledge.engine)
    typer.echo(revision or "non initialisée")
