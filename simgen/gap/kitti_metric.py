"""KITTI's 2D detection AP: 40 recall points, IoU 0.7 for cars, on a test set imported from KITTI.

KITTI's object benchmark ranks 2D detectors by AP_R40 (Simonelli et al. 2019, adopted by the
devkit in 2019): the interpolated precision (the best precision at any recall at least as high)
averaged over the 40 recall points 1/40, 2/40, ..., 1 (recall 0 left out), with a minimum box
IoU of 0.7 for Car (and Van, Truck, Tram) and 0.5 for Pedestrian and Cyclist. COCO's AP50 (101
points, IoU 0.5 for every class) is gentler on loose boxes; this is the number a driving team
compares with published KITTI results.

It is computed from the matches pycocotools already made (:class:`~simgen.gap.evaluate`'s
evaluator, with its treatment of ignored objects, crowd regions and the difficulty level's
detection-height floor), at the IoU threshold in COCO's grid that KITTI uses. What still differs
from the devkit: pycocotools matches each detection, best score first, to the unmatched object
it overlaps most, where the devkit matches each object to its best-scoring detection; and the
devkit's boxes are KITTI's pixel coordinates as they are, where simgen's COCO boxes span one
pixel more each way (KITTI's ``right - left`` is COCO's width minus 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

KITTI_MIN_IOU = {"Car": 0.7, "Van": 0.7, "Truck": 0.7, "Tram": 0.7}
"""The devkit's minimum IoU for a hit, per class; every other class: :data:`DEFAULT_MIN_IOU`."""

DEFAULT_MIN_IOU = 0.5
"""The devkit's minimum IoU of Pedestrian, Cyclist and the rest."""

KITTI_CONVENTION = (
    "KITTI's AP: interpolated precision at 40 recall points (1/40 .. 1), IoU 0.7 for Car, Van, "
    "Truck and Tram, 0.5 for the rest; matched as pycocotools matches (best score first)"
)
"""How ``kitti_AP_R40`` is computed, as recorded in ``gap.json``'s conventions."""

RECALL_POINTS = np.arange(1, 41, dtype=np.float64) / 40.0
"""AP_R40's recall points, (40,) float64: 1/40 .. 1."""


def is_kitti_import(coco: dict[str, Any]) -> bool:
    """Whether a COCO dict was written by ``simgen import-kitti`` (every image names its frame)."""
    images = coco.get("images") or []
    return bool(images) and all("kitti_frame" in image for image in images)


def min_iou(name: str) -> float:
    """KITTI's minimum IoU for a hit on class ``name``."""
    return KITTI_MIN_IOU.get(name, DEFAULT_MIN_IOU)


def interpolated_ap(
    scores: np.ndarray,
    hits: np.ndarray,
    positives: int,
    recall_points: np.ndarray = RECALL_POINTS,
) -> float | None:
    """AP as the mean interpolated precision at ``recall_points``.

    Args:
        scores: (D,) float, the scores of the detections that count (not ignored).
        hits: (D,) bool, whether each is a true positive.
        positives: objects that count (not ignored); ``None`` is returned when there are none.
        recall_points: (R,) float64 recall levels in (0, 1].

    Returns:
        The mean over ``recall_points`` of the best precision reached at a recall at least that
        high (0 where the recall is never reached).
    """
    if positives == 0:
        return None
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    hit = np.asarray(hits, dtype=bool)[order]
    true = np.cumsum(hit, dtype=np.float64)
    false = np.cumsum(~hit, dtype=np.float64)
    recall = true / positives
    precision = true / np.maximum(true + false, np.finfo(np.float64).eps)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, recall_points, side="left")
    reached = at < len(envelope)
    values = np.zeros(len(recall_points), dtype=np.float64)
    values[reached] = envelope[at[reached]]
    return float(values.mean())


def kitti_ap(evaluator, classes: list[str]) -> dict[str, float | None]:
    """AP_R40 per class at KITTI's IoU, from an evaluated (not yet accumulated) COCOeval.

    Args:
        evaluator: a pycocotools ``COCOeval`` after ``evaluate()``, with categories 1..C in the
            order of ``classes``, its default IoU grid (0.5:0.05:0.95) and area ranges.
        classes: the class names, in category order.

    Returns:
        ``{name: AP_R40 or None}`` (``None``: no object of the class counts).
    """
    params = evaluator.params
    grid = np.asarray(params.iouThrs, dtype=np.float64)
    images, areas = len(params.imgIds), len(params.areaRng)
    out: dict[str, float | None] = {}
    for k, name in enumerate(classes):
        t = int(np.argmin(np.abs(grid - min_iou(name))))
        scores, hits, positives = [], [], 0
        first = k * areas * images  # area range 0 ("all"): evalImgs is ordered class, area, image
        for entry in evaluator.evalImgs[first : first + images]:
            if entry is None:
                continue
            # pycocotools keeps each image's best maxDets[-1] detections, sorted by score.
            counts = ~np.asarray(entry["dtIgnore"], dtype=bool)[t]
            scores.append(np.asarray(entry["dtScores"], dtype=np.float64)[counts])
            hits.append(np.asarray(entry["dtMatches"])[t][counts] > 0)
            positives += int((~np.asarray(entry["gtIgnore"], dtype=bool)).sum())
        out[name] = interpolated_ap(
            np.concatenate(scores) if scores else np.zeros(0),
            np.concatenate(hits) if hits else np.zeros(0, dtype=bool),
            positives,
        )
    return out
