"""matplotlib (Agg) figures of :mod:`simgen.inspect.stats`, returned as PNG bytes.

Histograms show the fraction of images or instances per bin so that datasets of different
sizes overlay; with a second dataset each panel shows both (first in blue, second in orange)
and its title carries the distance from :func:`simgen.inspect.stats.compare` (TV: total
variation distance, W1: 1-D Wasserstein distance).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from simgen.inspect.stats import (
    ASPECT_BINS,
    CENTRE_BINS,
    SIZE_BINS,
    VISIBILITY_BINS,
    Values,
    centre_histogram,
    class_counts,
    compare,
)

PANELS = (
    "class_balance",
    "instances_per_image",
    "box_size",
    "aspect",
    "visibility",
    "centres",
)
TITLES = {
    "class_balance": "class balance (fraction of instances)",
    "instances_per_image": "instances per image",
    "box_size": "box size: sqrt(area) / image diagonal",
    "aspect": "aspect: log(w / h)",
    "visibility": "visibility (visib_fract)",
    "centres": "box centres",
}
COLOURS = ("#1f77b4", "#ff7f0e")


def _pyplot():
    """matplotlib.pyplot on the Agg backend (imported lazily)."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("plots need matplotlib: pip install 'matplotlib>=3.8'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _fractions(data: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(np.clip(data, edges[0], edges[-1]), bins=edges)
    return counts / max(1, data.size)


def _bars(ax, data: Sequence[np.ndarray], edges: np.ndarray, labels: Sequence[str]) -> None:
    """Side-by-side bars of the fraction of values per bin for one or two datasets."""
    width = np.diff(edges) / len(data)
    for k, (values, label) in enumerate(zip(data, labels, strict=True)):
        ax.bar(
            edges[:-1] + k * width,
            _fractions(values, edges),
            width=width,
            align="edge",
            color=COLOURS[k],
            label=f"{label} (n={values.size})",
        )
    ax.set_ylabel("fraction")


def _class_balance(ax, values: Sequence[Values], labels: Sequence[str]) -> None:
    counts = [class_counts(v) for v in values]
    names = list(counts[0]) + [n for c in counts[1:] for n in c if n not in counts[0]]
    x = np.arange(len(names))
    width = 0.8 / len(counts)
    for k, (count, label) in enumerate(zip(counts, labels, strict=True)):
        total = max(1, sum(count.values()))
        fractions = [count.get(n, 0) / total for n in names]
        ax.bar(x + k * width, fractions, width=width, color=COLOURS[k], label=label)
    ax.set_xticks(x + 0.4 - width / 2, names, rotation=45, ha="right")
    ax.set_ylabel("fraction")


def draw_panel(ax, key: str, values: Sequence[Values], labels: Sequence[str]) -> None:
    """Draw statistic ``key`` (one of :data:`PANELS` except ``centres``) on an axes."""
    if key == "class_balance":
        _class_balance(ax, values, labels)
    elif key == "instances_per_image":
        top = max(int(v.per_image.max(initial=0)) for v in values)
        edges = np.arange(0, top + 2) - 0.5
        _bars(ax, [v.per_image.astype(np.float64) for v in values], edges, labels)
    elif key == "box_size":
        _bars(ax, [v.size for v in values], SIZE_BINS, labels)
    elif key == "aspect":
        _bars(ax, [v.aspect for v in values], ASPECT_BINS, labels)
    elif key == "visibility":
        _bars(ax, [v.visibility for v in values], VISIBILITY_BINS, labels)
    else:
        raise ValueError(f"unknown panel {key!r}")
    ax.legend(fontsize=7)


def draw_centres(ax, values: Values, label: str) -> None:
    """Box-centre heat map (fraction of instances per cell) of one dataset."""
    counts = centre_histogram(values.centres).astype(np.float64)
    image = ax.imshow(
        counts / max(1.0, counts.sum()), extent=(0, 1, 1, 0), cmap="viridis", origin="upper"
    )
    ax.set_xlabel("x / width")
    ax.set_ylabel("y / height")
    ax.set_title(f"box centres: {label} ({CENTRE_BINS}x{CENTRE_BINS})", fontsize=9)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)


def figure_png(
    keys: Sequence[str],
    first: Values,
    second: Values | None = None,
    *,
    columns: int = 3,
    panel_size: tuple[float, float] = (4.2, 3.2),
    dpi: int = 100,
) -> bytes:
    """PNG bytes of a grid of panels (``centres`` becomes one heat map per dataset).

    Args:
        keys: statistics from :data:`PANELS`, in order.
        first: the dataset.
        second: an optional dataset to compare with; titles then give the distances.
        columns: panels per row.
        panel_size: inches per panel.
        dpi: resolution.
    """
    plt = _pyplot()
    values = [first] if second is None else [first, second]
    labels = [v.source or f"dataset {k + 1}" for k, v in enumerate(values)]
    short = [_short(label) for label in labels]
    distances: dict[str, Any] = compare(first, second) if second is not None else {}
    slots: list[tuple[str, int]] = []
    for key in keys:
        if key == "centres":
            slots.extend(("centres", k) for k in range(len(values)))
        else:
            slots.append((key, 0))
    columns = max(1, min(columns, len(slots)))
    rows = -(-len(slots) // columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(panel_size[0] * columns, panel_size[1] * rows),
        squeeze=False,
    )
    for ax, (key, k) in zip(axes.ravel(), slots, strict=False):
        if key == "centres":
            draw_centres(ax, values[k], short[k])
        else:
            draw_panel(ax, key, values, short)
            ax.set_title(TITLES[key], fontsize=9)
        distance = distances.get(key, {}).get("value")
        if distance is not None and k == 0:
            short = distances[key]["short"]
            ax.set_title(ax.get_title() + f"\ndistance ({short}) {distance:.3f}", fontsize=9)
    for ax in axes.ravel()[len(slots) :]:
        ax.set_axis_off()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _short(label: str, limit: int = 28) -> str:
    """The last ``limit`` characters of a long label."""
    return label if len(label) <= limit else "…" + label[-(limit - 1) :]
