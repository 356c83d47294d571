"""The direction of imports: index <- knowledge <- {bot, admin} <- svp, and inside knowledge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"index", "knowledge", "bot", "mail", "admin", "svp"}
ALLOWED = {
    "index": set(),
    "knowledge": {"index"},
    "bot": {"knowledge", "index"},
    "mail": {"knowledge", "index"},
    "admin": {"knowledge", "index"},
    "svp": {"index", "knowledge", "bot", "mail", "admin"},
}


KNOWLEDGE_GROUPS = ("store", "retrieval", "catalog", "desk", "people", "watch")


def imported_modules(path: Path) -> set[str]:
    """Return every dotted name a module imports, `from a import b` giving both `a` and `a.b`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def imported_packages(path: Path) -> set[str]:
    """Return the top-level packages of ours that a module imports."""
    return {name.split(".")[0] for name in imported_modules(path)} & OURS


def knowledge_group(path: Path) -> str | None:
    """Return the knowledge subpackage a module belongs to (None at the package root)."""
    parts = path.relative_to(ROOT / "knowledge").parts
    return parts[0] if len(parts) > 1 and parts[0] in KNOWLEDGE_GROUPS else None


def imported_groups(path: Path) -> set[str]:
    """Return the knowledge subpackages a module imports."""
    return {name.split(".")[1] for name in imported_modules(path)
            if name.startswith("knowledge.") and name.split(".")[1] in KNOWLEDGE_GROUPS}


def group_graph(root: Path) -> dict[str, set[str]]:
    """Map each knowledge subpackage to the other subpackages its modules import."""
    graph: dict[str, set[str]] = {group: set() for group in KNOWLEDGE_GROUPS}
    for path in sorted((root / "knowledge").rglob("*.py")):
        group = knowledge_group(path)
        if group is not None:
            graph[group] |= imported_groups(path) - {group}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of the graph as a path of nodes, or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*trail[trail.index(target):], target] if target in trail else [node, target]
            if target not in state and (cycle := visit(target, [*trail, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


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


def test_knowledge_subpackages_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(group_graph(ROOT))
    assert cycle is None, "knowledge subpackages import in a cycle: " + " -> ".join(cycle or [])


def test_store_imports_no_other_knowledge_subpackage() -> None:
    assert group_graph(ROOT)["store"] == set()


def test_every_knowledge_module_lives_in_a_subpackage_or_is_a_known_root_module() -> None:
    root_modules = {path.stem for path in (ROOT / "knowledge").glob("*.py")}
    assert root_modules <= {"__init__", "runtime", "audit", "errors", "text", "timeutil",
                            "privacy"}


def test_cycle_finder_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
