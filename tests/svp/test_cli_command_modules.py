"""Each `svp` command imports only the modules that define it, and finds all it needs there."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.main import get_command

import svp.cli as cli


def _defining_modules(command: object) -> set[str]:
    found = set()
    callback = getattr(command, "callback", None)
    if callback is not None:
        found.add(callback.__module__.removeprefix("svp.cli."))
    for child in getattr(command, "commands", {}).values():
        found |= _defining_modules(child)
    return found


def test_the_table_names_every_command_and_the_modules_that_define_it() -> None:
    commands = get_command(cli.load_commands()).commands  # type: ignore[attr-defined]
    assert set(cli.COMMAND_MODULES) == set(commands)
    for name, command in commands.items():
        assert _defining_modules(command) <= set(cli.COMMAND_MODULES[name]), name
    assert {module for modules in cli.COMMAND_MODULES.values() for module in modules} == set(
        cli.ALL_MODULES)


@pytest.mark.slow  # a child process
def test_a_command_loads_its_own_modules_and_not_the_web_stack() -> None:
    probe = ("import sys; import svp.cli as cli; app = cli.load_commands(['org', 'list']); "
             "from typer.main import get_command; "
             "print(sorted(get_command(app).commands['org'].commands), "
             "'fastapi' in sys.modules, 'svp.cli.kb' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split("] ")[1].split() == ["False", "False"]
    assert "'invite'" in result.stdout and "'list'" in result.stdout
