"""Pictures of a gap run: per-class AP bars, precision-recall curves, predictions vs truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simgen.gap.data import DetectionSet, letterbox, read_rgb


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def per_class_bars(path: Path, rows: list[dict[str, Any]], classes: list[str]) -> None:
    """Grouped bars: AP per class, one colour per training row."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(classes) + 2), 3.6), dpi=100)
    width = 0.8 / max(len(rows), 1)
    x = np.arange(len(classes))
    for i, row in enumerate(rows):
        values = [row["per_class"].get(c) or 0.0 for c in classes]
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, values, width, label=row["train"])
    ax.set_xticks(x, classes, rotation=30, ha="right")
    ax.set_ylabel("AP (IoU 0.50:0.95)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("AP per class on the real test set")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pr_curves(path: Path, rows: list[dict[str, Any]], classes: list[str]) -> None:
    """Precision-recall at IoU 0.5, one panel per class, one line per training row."""
    plt = _plt()
    cols = min(4, len(classes))
    rows_n = int(np.ceil(len(classes) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(3 * cols, 2.6 * rows_n), dpi=100, squeeze=False)
    recall = np.linspace(0, 1, 101)
    for k, name in enumerate(classes):
        ax = axes[k // cols][k % cols]
        for row in rows:
            ax.plot(recall, row["pr"][name], label=row["train"])
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)
    for k in range(len(classes), rows_n * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Precision-recall at IoU 0.5")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def prediction_sheet(
    path: Path,
    dataset: DetectionSet,
    detections: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    row: str,
    *,
    count: int = 8,
    threshold: float = 0.3,
    tile: int = 320,
) -> None:
    """Real test images: ground truth (left, green; ignored in grey) beside predictions (right)."""
    import cv2

    from simgen.io import encode_png

    picks = np.linspace(0, len(dataset.samples) - 1, min(count, len(dataset.samples))).astype(int)
    pairs = []
    for i in picks:
        sample = dataset.samples[int(i)]
        image, scale = letterbox(read_rgb(sample.path), tile)
        truth, predicted = image.copy(), image.copy()
        for box, label, skip in zip(sample.boxes, sample.labels, sample.ignore, strict=True):
            colour = (150, 150, 150) if skip else (40, 220, 40)
            _box(cv2, truth, box * scale, colour, dataset.categories[label])
        boxes, scores, labels = detections[int(i)]
        for box, score, label in zip(boxes, scores, labels, strict=True):
            if score >= threshold:
                name = f"{dataset.categories[int(label)]} {score:.2f}"
                _box(cv2, predicted, box * scale, (255, 80, 40), name)
        pairs.append(np.hstack([truth, np.full((tile, 4, 3), 255, np.uint8), predicted]))
    sheet = np.vstack([np.vstack([p, np.full((4, p.shape[1], 3), 255, np.uint8)]) for p in pairs])
    header = np.full((28, sheet.shape[1], 3), 255, np.uint8)
    cv2.putText(
        header,
        f"left: ground truth   right: '{row}' predictions (score >= {threshold})",
        (6, 19),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (0, 0, 0),
        1,
    )
    path.write_bytes(encode_png(np.vstack([header, sheet])))


def _box(cv2, image: np.ndarray, box: np.ndarray, colour, text: str) -> None:
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
    cv2.putText(image, text, (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1)


def write_report(
    out: Path,
    result: dict[str, Any],
    rows: list[dict[str, Any]],
    test: DetectionSet,
    detections: dict[str, list],
) -> None:
    """Write ``per_class_ap.png``, ``pr_curves.png`` and ``predictions.png`` into ``out``."""
    classes = result["conventions"]["classes"]
    per_class_bars(out / "per_class_ap.png", rows, classes)
    pr_curves(out / "pr_curves.png", rows, classes)
    first = rows[0]["train"]
    prediction_sheet(out / "predictions.png", test, detections[first], first)


def print_table(result: dict[str, Any]) -> None:
    """The rows as a rich table on stderr: training data x metrics."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sim-to-real gap (real test set)")
    table.add_column("training data")
    for metric in ("AP", "AP50", "AP75"):
        table.add_column(metric, justify="right")
    for name in result["conventions"]["classes"]:
        table.add_column(f"{name} AP/AP50", justify="right")

    def cell(row: dict[str, Any], name: str) -> str:
        ap, ap50 = row["per_class"][name], row.get("per_class_AP50", {}).get(name)
        if ap is None:
            return "-"
        return f"{ap:.3f}" if ap50 is None else f"{ap:.3f}/{ap50:.3f}"

    for row in result["rows"]:
        per_class = [cell(row, n) for n in result["conventions"]["classes"]]
        table.add_row(row["train"], *(f"{row[m]:.3f}" for m in ("AP", "AP50", "AP75")), *per_class)
    console = Console(stderr=True)
    console.print(table)
    console.print(f"boxes: {result['conventions']['boxes']}")
    console.print(f"ignore: {result['conventions']['ignore']}")
    console.print(f"total time: {result['minutes']:.1f} min")
