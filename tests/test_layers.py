"""The package keeps its one-way wings (docs/architecture.md), read from the code's own imports.

Wings, top to bottom: run, suite, properties, clientlib, resources, checks, wire, the roots.
A module imports from its own wing or one below, with one exception: ``run.state``, the
run's shared state, which every wing's fixtures and plugins reach. No import circle; checks
import only the catalogue; the wire knows no pytest and no checks; nothing imports the run's
hooks module; the emulator imports nothing of the suite; no module re-exports a name it
imports (package ``__init__`` facades excepted); no module is over 400 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
WINGS = ("run", "suite", "properties", "clientlib", "resources", "checks", "wire", "roots",
         "emulator")
"""Top to bottom. The emulator is a leaf of its own: the run may start it, it imports nothing."""
ROOTS = {"conformance", "conformance.clauses", "conformance.settings", "conformance.spec",
         "conformance.subjects"}
SHARED_STATE = "conformance.run.state"
HOOKS = "conformance.run.plugin"
MAX_LINES = 400


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    line: int
    runtime: bool
    """False under ``if TYPE_CHECKING:``: a type needs no module at run time."""

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def wing(module: str) -> str:
    if module in ROOTS:
        return "roots"
    part = module.split(".")[1]
    return "run" if part == "__main__" else part  # `python -m conformance` runs the CLI


def _target(name: str) -> str | None:
    """The package module an import names (``from a.b import c``: module a.b.c if there is
    one, else a.b)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def arrows() -> Iterator[Arrow]:
    for source, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                target = _target(name) if name.startswith("conformance") else None
                if target is not None and target != source:
                    yield Arrow(source, target, node.lineno,
                                not _under_type_checking(node, parents))


ARROWS = list(arrows())


def test_every_module_belongs_to_a_wing() -> None:
    assert {wing(m) for m in MODULES} <= set(WINGS)


def upward(found: list[Arrow]) -> list[Arrow]:
    """The arrows that run back up the wings (the shared state excepted)."""
    return [a for a in found if a.target != SHARED_STATE
            and WINGS.index(wing(a.target)) < WINGS.index(wing(a.source))]


def test_arrows_point_down_the_wings_or_to_the_runs_shared_state() -> None:
    found = upward(ARROWS)
    assert found == [], "\n".join(map(str, found))


def test_an_arrow_back_up_is_caught_and_the_shared_state_is_not() -> None:
    back = Arrow("conformance.resources.pool", "conformance.run.plugin", 1, True)
    state = Arrow("conformance.resources.pool", SHARED_STATE, 2, True)
    down = Arrow("conformance.run.cli", "conformance.wire.client", 3, True)
    assert upward([back, state, down]) == [back]


def test_there_is_no_import_circle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for arrow in ARROWS:
        if arrow.runtime:
            graph[arrow.source].add(arrow.target)
    circles = _strongly_connected(graph)
    assert circles == [], circles


def test_checks_import_only_the_clause_catalogue() -> None:
    wrong = [a for a in ARROWS if wing(a.source) == "checks" and wing(a.target) != "checks"
             and a.target != "conformance.clauses"]
    assert wrong == [], "\n".join(map(str, wrong))


def test_the_wire_knows_no_pytest_and_no_checks() -> None:
    wrong = [a for a in ARROWS if wing(a.source) == "wire"
             and wing(a.target) not in ("wire", "roots")]
    assert wrong == [], "\n".join(map(str, wrong))
    for module, path in MODULES.items():
        if wing(module) == "wire":
            imported = {n.split(".")[0] for n in _imported_names(path)}
            assert "pytest" not in imported, module


def test_nothing_imports_the_runs_hooks_module() -> None:
    assert [str(a) for a in ARROWS if a.target == HOOKS] == []


def test_the_emulator_imports_nothing_of_the_suite() -> None:
    wrong = [a for a in ARROWS if wing(a.source) == "emulator" and wing(a.target) != "emulator"]
    assert wrong == [], "\n".join(map(str, wrong))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_no_module_re_exports_what_it_imports() -> None:
    """Each name lives in one module and is imported from there (package facades aside)."""
    found = []
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.asname or a.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "conformance") for a in node.names}
        exported = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                exported = set(ast.literal_eval(node.value))
        found += [f"{module}: {name}" for name in sorted(exported & imported)]
    assert found == []


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every group of modules that import each other, round the circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]]
