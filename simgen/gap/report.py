"""Outputs of a gap run: per-class AP bars, precision-recall curves, predictions vs truth, and
every model's detections on the scored sets as COCO results."""

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
    """Real test images: ground truth (left, green; ignored in grey) beside predictions (right).

    Tiles are ``tile`` pixels high and as wide as the widest picked image's aspect asks (at
    most 4x), so wide driving frames are not shrunk into squares.
    """
    import cv2

    from simgen.io import encode_png

    picks = np.linspace(0, len(dataset.samples) - 1, min(count, len(dataset.samples))).astype(int)
    aspect = max(dataset.samples[int(i)].width / dataset.samples[int(i)].height for i in picks)
    size = (tile, round(tile * min(max(aspect, 1.0), 4.0)))
    pairs = []
    for i in picks:
        sample = dataset.samples[int(i)]
        image, scale = letterbox(read_rgb(sample.path), size)
        truth, predicted = image.copy(), image.copy()
        for box, label, skip in zip(sample.boxes, sample.labels, sample.ignore, strict=True):
            colour = (150, 150, 150) if skip else (40, 220, 40)
            _box(cv2, truth, box * scale, colour, dataset.categories[label])
        boxes, scores, labels = detections[int(i)]
        for box, score, label in zip(boxes, scores, labels, strict=True):
            if score >= threshold:
                name = f"{dataset.categories[int(label)]} {score:.2f}"
                _box(cv2, predicted, box * scale, (255, 80, 40), name)
        pairs.append(np.hstack([truth, np.full((size[0], 4, 3), 255, np.uint8), predicted]))
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


KIND_ORDER = ("synthetic", "real", "synthetic→real", "synthetic+real")


def label_efficiency_plot(path: Path, curve: list[dict[str, Any]], metric: str = "AP") -> None:
    """AP against the number of real training images: one line per training kind, the spread
    over seeds shaded; the synthetic-only point (k = 0) starts both synthetic kinds' lines."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    synthetic = [r for r in curve if r["train"] == "synthetic"]
    for kind in KIND_ORDER[1:]:
        points = sorted((r for r in curve if r["train"] == kind), key=lambda r: r["real_images"])
        if kind != "real":
            points = synthetic + points
        if not points:
            continue
        x = np.array([r["real_images"] for r in points], dtype=float)
        y = np.array([r[metric] for r in points])
        spread = np.array([r[f"{metric}_std"] for r in points])
        (line,) = ax.plot(x, y, marker="o", label=kind)
        ax.fill_between(x, y - spread, y + spread, color=line.get_color(), alpha=0.2)
    if synthetic and not any(r["train"] != "synthetic" for r in curve):
        row = synthetic[0]
        ax.errorbar([0], [row[metric]], yerr=[row[f"{metric}_std"]], marker="o", label="synthetic")
    ax.set_xlabel("real training images")
    ax.set_ylabel(f"{metric} on the real test set")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Label efficiency: mean over seeds, spread shaded")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


DETECTIONS_DIR = "detections"
"""Folder of ``simgen gap``'s output holding each model's detections: ``test/`` on the test
set, ``val/`` on the ``--val`` set when there is one."""


def detections_name(train: str, real_images: int, seed: int) -> str:
    """The file of one model's detections on a scored set (``synthetic-plus-real_k25_seed0.json``
    for ``synthetic+real`` with 25 real images, seed 0)."""
    kind = train.replace("→", "-to-").replace("->", "-to-").replace("+", "-plus-")
    return f"{kind}_k{real_images}_seed{seed}.json"


def write_detections(
    folder: Path, test: DetectionSet, rows: list[dict[str, Any]], detections: dict[str, list]
) -> None:
    """Write each row's detections on a scored set to ``folder`` (:func:`detections_name`), as
    COCO results with the set's own image and category ids, every detection kept (no score or
    KITTI height threshold): ``COCO(its annotations).loadRes(file)`` reads them, for one's own
    error analysis.

    Args:
        folder: created if missing; each file is written whole (atomically).
        test: the scored set (the test set, or the ``--val`` set).
        rows: ``gap.json``'s rows (``train``, ``real_images``, ``seed``).
        detections: per row key ``"{train} k={k} seed={seed}"``, one ``(boxes, scores,
            labels)`` per sample of ``test``.
    """
    from simgen.gap.evaluate import coco_results
    from simgen.io import atomic_write_text, dump_json

    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        key = f"{row['train']} k={row['real_images']} seed={row['seed']}"
        name = detections_name(row["train"], row["real_images"], row["seed"])
        atomic_write_text(folder / name, dump_json(coco_results(test, detections[key])))


def write_report(
    out: Path,
    result: dict[str, Any],
    rows: list[dict[str, Any]],
    test: DetectionSet,
    detections: dict[str, list],
) -> None:
    """Write ``label_efficiency.png``, ``per_class_ap.png``, ``pr_curves.png`` and
    ``predictions.png`` into ``out``.

    The per-class bars show the seed means at k = 0 and at the largest count; the
    precision-recall curves and the prediction sheet are the first seed's models.
    """
    classes = result["conventions"]["classes"]
    curve = result["curve"]
    label_efficiency_plot(out / "label_efficiency.png", curve)
    counts = [r["real_images"] for r in curve]
    shown = [r for r in curve if r["real_images"] in (0, max(counts))]
    per_class_bars(
        out / "per_class_ap.png",
        [{**r, "train": f"{r['train']} ({r['real_images']} real)"} for r in shown],
        classes,
    )
    first_seed = rows[0]["seed"]
    picked = [
        {**r, "train": f"{r['train']} ({r['real_images']} real)"}
        for r in rows
        if r["seed"] == first_seed and r["real_images"] in (0, max(counts))
    ]
    pr_curves(out / "pr_curves.png", picked, classes)
    first = rows[0]
    key = f"{first['train']} k={first['real_images']} seed={first['seed']}"
    prediction_sheet(out / "predictions.png", test, detections[key], key)


def print_table(result: dict[str, Any]) -> None:
    """The curve as a rich table on stderr (mean ± spread over seeds), then the summary."""
    from rich.console import Console
    from rich.table import Table

    seeds = len(result["settings"]["seeds"])
    table = Table(
        title=f"sim-to-real gap on the real test set ({result['settings']['backbone']}, "
        f"mean ± std over {seeds} seed{'s' if seeds != 1 else ''})"
    )
    table.add_column("training data")
    table.add_column("real images", justify="right")
    for metric in ("AP", "AP50", "AP75"):
        table.add_column(metric, justify="right")
    classes = result["conventions"]["classes"]
    keys = ["per_class_AP50"]
    if "kitti_AP_R40" in result["curve"][0]:  # a KITTI test set: KITTI's own AP too
        keys.append("kitti_AP_R40")  # the level KITTI ranks by; easy and hard in gap.json
    for key in keys:
        for name in classes:
            title = "AP50" if key == "per_class_AP50" else "AP_R40 (KITTI moderate)"
            table.add_column(f"{name} {title}", justify="right")
    for row in result["curve"]:
        per_class = [
            "-" if row[key][n] is None else f"{row[key][n]:.3f}" for key in keys for n in classes
        ]
        table.add_row(
            row["train"],
            str(row["real_images"]),
            *(f"{row[m]:.3f} ± {row[m + '_std']:.3f}" for m in ("AP", "AP50", "AP75")),
            *per_class,
        )
    console = Console(stderr=True)
    if not console.is_terminal:  # a log file: no terminal width to fit, keep every digit
        console = Console(stderr=True, width=200)
    console.print(table)
    console.print(result["summary"])
    console.print(f"boxes: {result['conventions']['boxes']}")
    console.print(f"ignore: {result['conventions']['ignore']}")
    console.print(f"total time: {result['minutes']:.1f} min")
