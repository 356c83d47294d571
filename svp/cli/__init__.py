"""The `svp` command line: one entry point, sub-commands registered from sibling modules."""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from knowledge.errors import DomainError
from svp.cli import base
from svp.cli.base import OperatorError

__all__ = ["app", "main"]

# The modules that define each top-level command: `svp kb list` imports these alone, which
# saves every command the start-up of all the others (a test keeps the table complete).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "adviser": ("telegram",), "api": ("api",), "asker": ("telegram",), "backup": ("backup",),
    "bot": ("telegram",), "db": ("db",), "digest": ("reports",), "eval": ("evaluation",),
    "glossary": ("vocabulary",), "index": ("retrieval",), "init": ("db",),
    "kb": ("kb", "kb_upkeep", "vocabulary"), "mail": ("mail",), "org": ("telegram",),
    "privacy": ("privacy",),
    "search": ("retrieval",), "secrets": ("secrets",), "serve": ("web",), "stats": ("reports",),
    "user": ("web",), "veille": ("watch",),
}
ALL_MODULES = ("api", "backup", "db", "evaluation", "kb", "kb_upkeep", "mail", "privacy",
               "reports", "retrieval", "secrets", "telegram", "vocabulary", "watch", "web")


def load_commands(argv: list[str] | None = None) -> typer.Typer:
    """Register the commands `argv` names (all of them when it names none); return the app."""
    words = [word for word in (argv or []) if not word.startswith("-")]
    modules = COMMAND_MODULES.get(words[0], ALL_MODULES) if words else ALL_MODULES
    for module in modules:
        importlib.import_module(f"svp.cli.{module}")
    return base.app


def __getattr__(name: str) -> object:
    # `from svp.cli import app` (tests, tools) gets the whole command line.
    if name == "app":
        return load_commands()
    raise AttributeError(name)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def main() -> None:
    """Run the CLI; operator errors become one line on stderr and a non-zero exit code."""
    debug = "--debug" in sys.argv
    try:
        load_commands(sys.argv[1:])(prog_name="svp")
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
