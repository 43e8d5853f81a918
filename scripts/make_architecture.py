"""Draw simgen's architecture from its code: docs/images/architecture.png and the dependency
table in docs/architecture.md.

Every ``import simgen...`` statement in ``simgen/`` (at module level or inside a function) is
read with :mod:`ast` (scripts/architecture_graph.py); modules are grouped into the units of
:data:`architecture_graph.LAYERS`
(a package, or one core module), and each unit is drawn in the row of its layer, with an arrow
to every unit it imports. The same graph is written as a table between the
``<!-- dependencies -->`` markers of docs/architecture.md. tests/test_architecture.py checks
the rules this picture shows (layers only import downwards, no import cycle).

Usage: .venv/bin/python scripts/make_architecture.py [--check]
  --check: exit 1 if docs/architecture.md's table is not what the code gives (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from architecture_graph import LAYERS, unit_graph  # noqa: E402

DOC = ROOT / "docs" / "architecture.md"
IMAGE = ROOT / "docs" / "images" / "architecture.png"
START, END = "<!-- dependencies -->", "<!-- /dependencies -->"


def table(graph: dict[str, set[str]]) -> str:
    """Markdown table: each unit, its layer, and the units it imports."""
    rows = ["| unit | layer | imports |", "|---|---|---|"]
    for layer, units in LAYERS:
        for unit in units:
            deps = ", ".join(f"`{d}`" for d in sorted(graph.get(unit, ()))) or "nothing"
            rows.append(f"| `{unit}` | {layer} | {deps} |")
    return "\n".join(rows)


def draw(graph: dict[str, set[str]], path: Path) -> None:
    """Layers as rows (top: command line; bottom: core), units as boxes, imports as arrows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(reversed(LAYERS))  # bottom row first
    width = max(len(units) for _, units in LAYERS)
    fig, ax = plt.subplots(figsize=(2.0 * width + 2.0, 1.5 * len(rows) + 0.5), dpi=110)
    pos: dict[str, tuple[float, float]] = {}
    for y, (name, units) in enumerate(rows):
        offset = (width - len(units)) / 2
        for x, unit in enumerate(units):
            pos[unit] = (offset + x + 0.5, y * 1.5)
        ax.text(-0.6, y * 1.5, name, ha="right", va="center", fontsize=10, weight="bold")
    for unit, deps in graph.items():
        for dep in deps:
            (x0, y0), (x1, y1) = pos[unit], pos[dep]
            ax.annotate(
                "",
                xy=(x1, y1 + (0.22 if y1 < y0 else -0.22 if y1 > y0 else 0)),
                xytext=(x0, y0 - (0.22 if y1 < y0 else -0.22 if y1 > y0 else 0)),
                arrowprops={"arrowstyle": "->", "color": "#8899aa", "lw": 0.6, "alpha": 0.7},
            )
    for unit, (x, y) in pos.items():
        label = unit.removeprefix("simgen.")
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.35", "fc": "#eef3f8", "ec": "#335577"},
        )
    ax.set_xlim(-2.4, width + 0.2)
    ax.set_ylim(-0.7, 1.5 * (len(rows) - 1) + 0.7)
    ax.axis("off")
    ax.set_title("simgen: units by layer; arrows point to what a unit imports", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    graph = unit_graph(ROOT / "simgen")
    text = DOC.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    new = f"{before}{START}\n{table(graph)}\n{END}{after}"
    if args.check:
        if new != text:
            print(f"{DOC} is out of date: run scripts/make_architecture.py")
            raise SystemExit(1)
        return
    DOC.write_text(new)
    draw(graph, IMAGE)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
