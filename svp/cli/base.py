"""The root Typer application, shared options and helpers of every sub-command."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from knowledge.runtime import Knowledge
from svp import redaction, secret_keys
from svp.cli.french import FrenchGroup
from svp.runtime import build_knowledge
from svp.secret_keys import SecretKeys
from svp.settings import Settings, load_settings

app = typer.Typer(
    help="Assistant réglementaire SVP : base de connaissances, recherche, bot Telegram et "
    "administration web.",
    no_args_is_help=True,
    cls=FrenchGroup,  # French help option, panel titles and usage errors for every command
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OperatorError(Exception):
    """An error an operator can fix; its message is one French line saying what to do."""


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Affiche le détail des erreurs.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Journal détaillé.")] = False,
) -> None:
    """Assistant réglementaire SVP."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redaction.install(configured_secrets())


def configured_secrets() -> list[str | None]:
    """The configured secrets, masked in every log line."""
    try:
        current = load_settings()
    except Exception:  # invalid settings are reported by the command that needs them
        return []
    return [current.telegram_token, current.telegram_webhook_secret, current.metrics_token,
            *secret_keys.known_values(current)]


def settings() -> Settings:
    """Read the settings (environment and `.env`)."""
    return load_settings()


def sealing_keys(current: Settings) -> SecretKeys:
    """The keys sealing secrets at rest; the key file is created (and announced) if need be."""
    keys = secret_keys.load(current)
    if keys.created:
        redaction.install(configured_secrets())  # the new key is masked in the log like the others
        typer.echo(f"Clé de chiffrement des secrets créée : {keys.key_file} ; sauvegardez ce "
                   "fichier (sans lui, chaque compte devra réactiver sa double "
                   "authentification).", err=True)
    return keys


def open_knowledge(current: Settings | None = None, *, require_schema: bool = True) -> Knowledge:
    """Open the knowledge base; fail with a clear line when the database is not initialised."""
    from knowledge.store import migrate

    knowledge = build_knowledge(current or settings())
    if require_schema and not migrate.is_up_to_date(knowledge.engine):
        revision = migrate.current_revision(knowledge.engine)
        knowledge.close()
        if revision is None:
            raise OperatorError("la base de données n'est pas initialisée : lancez « svp init ».")
        raise OperatorError(
            f"la base de données est à la version {revision}, le code attend "
            f"{migrate.head_revision()} : lancez « svp db upgrade »."
        )
    return knowledge
