"""The direction of imports: index <- knowledge <- {bot, admin} <- svp."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"index", "knowledge", "bot", "admin", "svp"}
ALLOWED = {
    "index": set(),
    "knowledge": {"index"},
    "bot": {"knowledge", "index"},
    "admin": {"knowledge", "index"},
    "svp": {"index", "knowledge", "bot", "admin"},
}


def imported_packages(path: Path) -> set[str]:
    """Return the top-level packages of ours that a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def modules() -> list[tuple[str, Path]]:
    return [(package, path) for package in sorted(OURS)
            for path in sorted((ROOT / package).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), modules(),
                         ids=[str(p.relative_to(ROOT)) for _, p in modules()])
def test_imports_point_the_right_way(package: str, path: Path) -> None:
    wrong = imported_packages(path) - ALLOWED[package] - {package}
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from admin.app import x\nimport bot.handlers\n", encoding="utf-8")
    assert imported_packages(module) == {"admin", "bot"}
