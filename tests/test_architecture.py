"""The package keeps the shape docs/architecture.md shows: every module belongs to a unit of a
layer, a layer imports only its own and lower layers, no import runs in a circle, and the
dependency table in docs/architecture.md is the one the code gives."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simgen"


def _graph_module():
    spec = importlib.util.spec_from_file_location(
        "architecture_graph", ROOT / "scripts" / "architecture_graph.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


graph = _graph_module()


def test_every_module_belongs_to_a_unit():
    for module in graph.module_graph(PACKAGE):
        assert graph.unit_of(module) in graph.UNITS


def test_no_import_cycle_between_modules():
    assert graph.cycles(graph.module_graph(PACKAGE)) == []


def test_layers_import_only_downwards():
    assert graph.upward_imports(PACKAGE) == []


def test_cycle_finder_finds_a_cycle():
    assert graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert graph.cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_function_level_imports_are_read(tmp_path):
    root = tmp_path / "simgen"
    (root / "pkg").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "low.py").write_text("")
    (root / "pkg" / "__init__.py").write_text("from . import mod\n")
    (root / "pkg" / "mod.py").write_text("def f():\n    from simgen import low\n")
    assert graph.module_graph(root) == {
        "simgen": set(),
        "simgen.low": set(),
        "simgen.pkg": {"simgen.pkg.mod"},
        "simgen.pkg.mod": {"simgen", "simgen.low"},
    }


def test_architecture_doc_table_is_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_architecture.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
