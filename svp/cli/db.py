"""`svp init` and `svp db ...`: create and upgrade the database."""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from knowledge.runtime import Knowledge
from knowledge.store import migrate
from knowledge.store.models import EntryStatus, KnowledgeEntry
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
        # A database upgraded to passages, or a re-embedding interrupted: cut what is missing.
        cut = _cut_missing_passages(knowledge)
    if before == after:
        typer.echo(f"Base de données déjà à jour (version {after}).")
    else:
        typer.echo(f"Base de données prête (version {after}).")
    if cut:
        typer.echo(f"Passages calculés pour {cut} fiche(s).")


def _cut_missing_passages(knowledge: Knowledge) -> int:
    with knowledge.reading() as session:
        active = session.scalar(select(func.count()).select_from(KnowledgeEntry)
                                .where(KnowledgeEntry.status == EntryStatus.ACTIVE.value))
    # The model is loaded only when there is something to embed.
    return knowledge.embed_missing_passages() if active else 0


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
