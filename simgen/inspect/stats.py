"""Dataset statistics and distances between two datasets, as plain numbers.

Per instance (every annotation with ``iscrowd != 1`` and a non-empty box; crowd regions are
not instances and are only counted):

- category name (class balance),
- box size ``sqrt(w * h) / sqrt(W**2 + H**2)``: box side relative to the image diagonal,
- aspect ``log(w / h)`` (natural log; 0 is square, > 0 wide),
- box centre ``((x + w/2) / W, (y + h/2) / H)`` in [0, 1]²,
- ``visib_fract`` where the file has it (simgen, BOP-derived data).

Per image: the number of instances. :func:`collect` extracts these as arrays,
:func:`summarize` turns them into a JSON-ready dict (counts, means, fixed-bin histograms)
and :func:`compare` measures the distance between two datasets, per statistic:

- class balance: total variation distance ``0.5 * sum |p - q|`` between class frequencies,
  categories matched by name (a class missing from one side has frequency 0 there);
- instances per image, box size, aspect, visibility: 1-D Wasserstein (earth mover's)
  distance ``scipy.stats.wasserstein_distance``, in the statistic's own unit;
- box centres: total variation distance between the normalized 10 x 10 histograms.

All distances are 0 for identical distributions; total variation distances are at most 1.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from simgen.inspect.dataset import is_box, is_number

SIZE_BINS = np.linspace(0.0, 0.5, 26)
"""Box size histogram edges (fraction of the image diagonal; larger values go in the last)."""
ASPECT_BINS = np.linspace(-2.0, 2.0, 21)
"""``log(w/h)`` histogram edges (values outside are clipped into the end bins)."""
VISIBILITY_BINS = np.linspace(0.0, 1.0, 21)
CENTRE_BINS = 10
"""Box-centre heat map resolution (per axis)."""

DISTANCES = {
    "class_balance": "total variation distance of class frequencies (categories matched by name)",
    "instances_per_image": "1-D Wasserstein distance (instances)",
    "box_size": "1-D Wasserstein distance (sqrt box area / image diagonal)",
    "aspect": "1-D Wasserstein distance (natural log of box w/h)",
    "visibility": "1-D Wasserstein distance (visib_fract)",
    "centres": f"total variation distance of {CENTRE_BINS}x{CENTRE_BINS} box-centre histograms",
}
"""Which distance :func:`compare` reports for each statistic."""
SHORT_NAMES = {
    "class_balance": "TV",
    "instances_per_image": "W1",
    "box_size": "W1",
    "aspect": "W1",
    "visibility": "W1",
    "centres": "TV",
}
"""Short metric names: TV = total variation distance, W1 = 1-D Wasserstein distance."""


@dataclass(frozen=True)
class Values:
    """Per-instance and per-image values of one dataset.

    Attributes:
        source: display name.
        categories: category names in file order.
        classes: (N,) str, category name of each instance.
        per_image: (I,) int64, instances in each image (images in file order).
        size: (N,) float64, sqrt(w*h) / image diagonal.
        aspect: (N,) float64, log(w/h).
        centres: (N, 2) float64, box centre / image size.
        visibility: (V,) float64, visib_fract of the instances that have one (V <= N).
        ignored: instances flagged ``ignore`` (``None`` when no annotation has the field).
        crowd: annotations with ``iscrowd == 1`` (not counted as instances).
        skipped: annotations left out for an empty or unusable box or an unknown image.
    """

    source: str
    categories: tuple[str, ...]
    classes: np.ndarray
    per_image: np.ndarray
    size: np.ndarray
    aspect: np.ndarray
    centres: np.ndarray
    visibility: np.ndarray
    ignored: int | None
    crowd: int
    skipped: int


def collect(coco: dict[str, Any], source: str = "") -> Values:
    """Extract the per-instance values of a (structurally valid) COCO dict."""
    images = {image["id"]: image for image in coco["images"]}
    names = {c["id"]: str(c.get("name", c["id"])) for c in coco["categories"]}
    per_image = Counter()
    classes, size, aspect, centres, visibility = [], [], [], [], []
    ignored, has_ignore, crowd, skipped = 0, False, 0, 0
    for ann in coco["annotations"]:
        if ann.get("iscrowd") == 1:
            crowd += 1
            continue
        image = images.get(ann.get("image_id"))
        box = ann.get("bbox")
        if image is None or not is_box(box) or box[2] <= 0 or box[3] <= 0:
            skipped += 1
            continue
        width, height = float(image["width"]), float(image["height"])
        x, y, w, h = (float(v) for v in box)
        per_image[ann["image_id"]] += 1
        classes.append(names.get(ann["category_id"], str(ann["category_id"])))
        size.append(math.sqrt(w * h) / math.hypot(width, height))
        aspect.append(math.log(w / h))
        centres.append(((x + w / 2) / width, (y + h / 2) / height))
        if is_number(ann.get("visib_fract")):
            visibility.append(float(ann["visib_fract"]))
        if "ignore" in ann:
            has_ignore = True
            ignored += bool(ann["ignore"])
    return Values(
        source=source,
        categories=tuple(names.values()),
        classes=np.array(classes, dtype=str),
        per_image=np.array([per_image.get(i, 0) for i in images], dtype=np.int64),
        size=np.array(size, dtype=np.float64),
        aspect=np.array(aspect, dtype=np.float64),
        centres=np.array(centres, dtype=np.float64).reshape(-1, 2),
        visibility=np.array(visibility, dtype=np.float64),
        ignored=ignored if has_ignore else None,
        crowd=crowd,
        skipped=skipped,
    )


def class_counts(values: Values) -> dict[str, int]:
    """Instances per category name, every category listed (in file order), zeros included."""
    counts = Counter(values.classes.tolist())
    names = list(values.categories) + sorted(set(counts) - set(values.categories))
    return {name: int(counts.get(name, 0)) for name in names}


def histogram(data: np.ndarray, edges: np.ndarray) -> dict[str, list]:
    """Counts of (N,) ``data`` in bins ``edges``; values outside go in the end bins."""
    clipped = np.clip(data, edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def centre_histogram(centres: np.ndarray, bins: int = CENTRE_BINS) -> np.ndarray:
    """(bins, bins) int64 counts of (N, 2) centres ``(x, y)``; row = y cell, column = x cell.

    Cell ``i`` of an axis holds ``i / bins <= value < (i + 1) / bins`` (edges computed as
    ``k / bins``); values outside [0, 1) go in the end cells.
    """
    inner = np.arange(1, bins) / bins
    cells = np.searchsorted(inner, np.asarray(centres, dtype=np.float64), side="right")
    counts = np.zeros((bins, bins), dtype=np.int64)
    np.add.at(counts, (cells[:, 1], cells[:, 0]), 1)
    return counts


def describe(data: np.ndarray) -> dict[str, float | int | None]:
    """count, mean, median, min and max of (N,) data (``None`` values when N = 0)."""
    if data.size == 0:
        return {"count": 0, "mean": None, "median": None, "min": None, "max": None}
    return {
        "count": int(data.size),
        "mean": float(np.mean(data)),
        "median": float(np.median(data)),
        "min": float(np.min(data)),
        "max": float(np.max(data)),
    }


def summarize(values: Values) -> dict[str, Any]:
    """JSON-ready statistics of one dataset (see the module docstring)."""
    counts = class_counts(values)
    total = sum(counts.values())
    per_image_edges = np.arange(0, max(int(values.per_image.max(initial=0)), 1) + 2) - 0.5
    return {
        "source": values.source,
        "images": int(values.per_image.size),
        "instances": total,
        "crowd": values.crowd,
        "skipped": values.skipped,
        "ignored": values.ignored,
        "class_counts": counts,
        "class_fraction": {k: (v / total if total else 0.0) for k, v in counts.items()},
        "instances_per_image": {
            **describe(values.per_image.astype(np.float64)),
            "histogram": histogram(values.per_image.astype(np.float64), per_image_edges),
        },
        "box_size": {**describe(values.size), "histogram": histogram(values.size, SIZE_BINS)},
        "aspect": {**describe(values.aspect), "histogram": histogram(values.aspect, ASPECT_BINS)},
        "visibility": {
            **describe(values.visibility),
            "histogram": histogram(values.visibility, VISIBILITY_BINS),
        },
        "centres": {
            "bins": CENTRE_BINS,
            "counts": centre_histogram(values.centres).tolist(),
        },
    }


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """``0.5 * sum |p/sum(p) - q/sum(q)|`` of two non-negative count arrays of equal shape."""
    p = np.asarray(p, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def _wasserstein(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import wasserstein_distance

    if a.size == 0 or b.size == 0:
        return None
    return float(wasserstein_distance(a, b))


def compare(a: Values, b: Values) -> dict[str, dict[str, Any]]:
    """Distance between dataset ``a`` and dataset ``b`` for every statistic.

    Returns:
        ``{statistic: {"metric": str, "short": "TV" | "W1", "value": float | None, ...}}``;
        ``value`` is ``None``
        when a side has no data for it (e.g. no ``visib_fract`` in real data); class balance
        also lists the categories present on only one side.
    """
    counts_a, counts_b = class_counts(a), class_counts(b)
    names = list(counts_a) + [n for n in counts_b if n not in counts_a]
    tv_classes = total_variation(
        np.array([counts_a.get(n, 0) for n in names]), np.array([counts_b.get(n, 0) for n in names])
    )
    centres = total_variation(centre_histogram(a.centres), centre_histogram(b.centres))
    values = {
        "class_balance": None if math.isnan(tv_classes) else tv_classes,
        "instances_per_image": _wasserstein(
            a.per_image.astype(np.float64), b.per_image.astype(np.float64)
        ),
        "box_size": _wasserstein(a.size, b.size),
        "aspect": _wasserstein(a.aspect, b.aspect),
        "visibility": _wasserstein(a.visibility, b.visibility),
        "centres": None if math.isnan(centres) else centres,
    }
    result = {
        key: {"metric": DISTANCES[key], "short": SHORT_NAMES[key], "value": values[key]}
        for key in DISTANCES
    }
    result["class_balance"]["only_in_first"] = [n for n in counts_a if n not in counts_b]
    result["class_balance"]["only_in_second"] = [n for n in counts_b if n not in counts_a]
    return result
