"""simgen's import graph, read from its source with :mod:`ast`, and the layers it must respect.

Used by scripts/make_architecture.py (the picture and the table in docs/architecture.md) and by
tests/test_architecture.py (the rules). A *unit* is a package (``simgen.produce``) or a core
module (``simgen.config``); each belongs to one layer of :data:`LAYERS`, and a unit may import
units of its own layer or of layers below it, never above.
"""

from __future__ import annotations

import ast
from pathlib import Path

LAYERS: list[tuple[str, list[str]]] = [
    ("command line", ["simgen.cli", "simgen.console", "simgen"]),
    ("applications", ["simgen.composite", "simgen.gap", "simgen.inspect"]),
    ("production", ["simgen.produce"]),
    ("dataset I/O", ["simgen.formats", "simgen.dataset"]),
    (
        "scene",
        ["simgen.randomize", "simgen.physics", "simgen.render", "simgen.labels", "simgen.assets"],
    ),
    ("config", ["simgen.config", "simgen.effects", "simgen.randomize.texture", "simgen.library"]),
    (
        "foundation",
        [
            "simgen.version",
            "simgen.dataset.versions",
            "simgen.memory",
            "simgen.schema",
            "simgen.ranges",
            "simgen.scene",
            "simgen.geometry",
            "simgen.rng",
            "simgen.io",
            "simgen.ply_ascii",
            "simgen.simplify",
            "simgen.plates",
            "simgen.errors",
            "simgen.logs",
        ],
    ),
]
"""Layers from top (may import everything below) to bottom (imports nothing of simgen's)."""

UNITS = [unit for _, units in LAYERS for unit in units]


def module_name(path: Path, root: Path) -> str:
    """``simgen/produce/runner.py`` -> ``simgen.produce.runner`` (``__init__`` -> package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, name: str) -> set[str]:
    """Every ``simgen`` module ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "simgen" or m.startswith("simgen.")}


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the simgen modules it imports (names that are not modules, such as imported
    functions, are dropped; ``from simgen import x`` counts as importing ``simgen``)."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        deps = {m for m in imported_modules(path, name) if m in known and m != name}
        graph[name] = deps
    return graph


def unit_of(module: str) -> str:
    """The unit a module belongs to (the longest unit name that is a prefix of it)."""
    best = None
    for unit in UNITS:
        if module == unit or module.startswith(unit + "."):
            if best is None or len(unit) > len(best):
                best = unit
    if best is None:
        raise KeyError(f"{module} belongs to no unit of LAYERS")
    return best


def unit_graph(root: Path) -> dict[str, set[str]]:
    """Unit -> the other units it imports."""
    graph: dict[str, set[str]] = {unit: set() for unit in UNITS}
    for module, deps in module_graph(root).items():
        unit = unit_of(module)
        graph[unit].update(unit_of(d) for d in deps if unit_of(d) != unit)
    return graph


def layer_index(unit: str) -> int:
    """0 for the top layer, increasing downwards."""
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    raise KeyError(unit)


def upward_imports(root: Path) -> list[tuple[str, str]]:
    """(module, imported module) pairs where a lower layer imports a higher one."""
    bad = []
    for module, deps in module_graph(root).items():
        for dep in deps:
            if layer_index(unit_of(dep)) < layer_index(unit_of(module)):
                bad.append((module, dep))
    return sorted(bad)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
