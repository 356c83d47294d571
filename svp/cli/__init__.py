"""The `svp` command line: one entry point, sub-commands registered from sibling modules."""

from __future__ import annotations

import logging
import sys

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from knowledge.errors import DomainError
from svp.cli import (
    api,
    base,
    db,
    evaluation,
    kb,
    kb_upkeep,
    privacy,
    reports,
    retrieval,
    secrets,
    telegram,
    vocabulary,
    web,
)
from svp.cli.base import OperatorError, app

__all__ = ["app", "main"]

_MODULES = (api, base, db, evaluation, kb, kb_upkeep, privacy, reports, retrieval, secrets,
            telegram, vocabulary, web)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def main() -> None:
    """Run the CLI; operator errors become one line on stderr and a non-zero exit code."""
    debug = "--debug" in sys.argv
    try:
        app(prog_name="svp")
    except SystemExit:
        raise
    except (OperatorError, DomainError) as error:
        if debug:
            raise
        typer.echo(f"Erreur : {error}", err=True)
        sys.exit(1)
    except (OperationalError, ProgrammingError) as error:
        if debug:
            raise
        reason = _first_line(error.orig if error.orig is not None else error)
        typer.echo(
            f"Erreur : base de données inaccessible ou non initialisée ({reason}). "
            "Vérifiez SVP_DATABASE_URL puis lancez « svp init ».",
            err=True,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Interrompu.", err=True)
        sys.exit(130)
    except Exception as error:  # the last barrier: operators never see a traceback
        if debug:
            raise
        logging.getLogger("svp").debug("unexpected error", exc_info=True)
        typer.echo(f"Erreur inattendue : {error!r} (relancez avec --debug pour le détail).",
                   err=True)
        sys.exit(2)
