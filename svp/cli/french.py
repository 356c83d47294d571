"""French for the texts Typer writes itself (help option, panel titles, usage errors).

Typer ships its own copy of Click with English strings and no translation catalogue, so the
root group of `svp` localises them: it rewrites the help option and the type hints of every
command it dispatches to, sets the French titles of the help panels, and translates usage
errors before printing them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from typer import _click, rich_utils
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import Abort

HELP_TEXT = "Affiche cette aide et quitte."
USAGE_PREFIX = "Utilisation : "
_MARK = "_svp_french"

_TYPE_WORDS = {
    "<str>": "<texte>",
    "<int>": "<entier>",
    "<float>": "<nombre>",
    "<path>": "<chemin>",
    "<file>": "<fichier>",
    "<directory>": "<dossier>",
    "<datetime>": "<date>",
    "<bool>": "<booléen>",
}

_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern, re.DOTALL), replacement) for pattern, replacement in [
        (r"^No such option: ", "Option inconnue : "),
        (r"Did you mean (.+?)\?", r"Vouliez-vous dire \1 ?"),
        (r"^No such command '(.+?)'\.", r"Commande inconnue : « \1 »."),
        (r"^Missing command\.", "Commande manquante."),
        (r"^Missing option '(.+?)'\.", r"Option obligatoire manquante : \1."),
        (r"^Missing argument '(.+?)'\.", r"Argument obligatoire manquant : \1."),
        (r"^Missing parameter: ", "Paramètre manquant : "),
        (r"^Got unexpected extra argument\(s\) \((.+)\)", r"Argument(s) en trop : \1"),
        (r"^Invalid value for (.+?): ", r"Valeur invalide pour \1 : "),
        (r"^Invalid value: ", "Valeur invalide : "),
        (r"'(.+?)' is not one of (.+?)\.", r"« \1 » n'est pas l'une des valeurs \2."),
        (r"'(.+?)' is not (.+?)\.", r"« \1 » n'est pas \2."),
        (r"Value (.+?) is not a valid (.+?)\.", r"la valeur \1 n'est pas valide (\2 attendu)."),
        (r"Option '(.+?)' requires an argument\.", r"L'option \1 attend une valeur."),
        (r"Option '(.+?)' requires (\d+) arguments\.", r"L'option \1 attend \2 valeurs."),
        (r"Option '(.+?)' does not take a value\.", r"L'option \1 ne prend pas de valeur."),
        (r"Choose from:", "Valeurs possibles :"),
        (r"Could not open file (.+?): ", r"Impossible d'ouvrir le fichier \1 : "),
    ]
]


def translate_error(message: str) -> str:
    """Translate a usage error message of Typer's Click into French (unknown ones unchanged)."""
    for pattern, replacement in _ERRORS:
        message = pattern.sub(replacement, message)
    return message


def _set_panel_texts() -> None:
    rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
    rich_utils.ERRORS_PANEL_TITLE = "Erreur"
    rich_utils.DEFAULT_STRING = "[par défaut : {}]"
    rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
    rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
    rich_utils.DEPRECATED_STRING = "(obsolète) "
    rich_utils.ABORTED_TEXT = "Interrompu."
    rich_utils.RICH_HELP = "Aide : [blue]'{command_path} {help_option}'[/]"


def _french_type(original: Callable[..., str | None], *, flag: bool) -> Callable[..., str | None]:
    def display(ctx: Any) -> str | None:
        if flag:
            return None  # a switch takes no value: no type to show
        value = original(ctx)
        return _TYPE_WORDS.get(value, value) if value is not None else None

    return display


def _french_usage(command: _click.Command) -> Callable[..., None]:
    def format_usage(ctx: _click.Context, formatter: Any) -> None:
        pieces = command.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)

    return format_usage


def localise(command: _click.Command, ctx: _click.Context) -> None:
    """Give a command, and every command under it, a French help option and type hints."""
    if getattr(command, _MARK, False):
        return
    setattr(command, _MARK, True)
    command.format_usage = _french_usage(command)  # type: ignore[method-assign]
    if isinstance(command, TyperGroup):
        command.subcommand_metavar = "COMMANDE [ARGUMENTS]..."
    option = command.get_help_option(ctx)
    if option is not None:
        option.help = HELP_TEXT
    for param in command.params + ([option] if option is not None else []):
        # An option's metavar replaces its type hint; an argument's only replaces its name.
        if isinstance(param, TyperArgument) or (
                isinstance(param, TyperOption) and param.metavar is None):
            flag = isinstance(param, TyperOption) and bool(param.is_flag)
            param.display_type_rich = _french_type(  # type: ignore[method-assign]
                param.display_type_rich, flag=flag)
    for child in getattr(command, "commands", {}).values():
        localise(child, ctx)


class FrenchGroup(TyperGroup):
    """The root group of `svp`: help and usage errors in French for every command under it."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        """Localise the whole command tree before anything is parsed or printed."""
        localise(self, ctx)
        return super().parse_args(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI; usage errors are printed in French."""
        _set_panel_texts()
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except _click.exceptions.ClickException as error:
            if type(error).__name__ != "NoArgsIsHelpError":  # its help is already printed
                french = _click.exceptions.UsageError(
                    translate_error(error.format_message()), ctx=getattr(error, "ctx", None))
                rich_utils.rich_format_error(french)
            sys.exit(error.exit_code)
        except Abort:
            rich_utils.rich_abort_error()
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
