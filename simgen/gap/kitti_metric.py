"""KITTI's 2D detection AP, computed as KITTI's object devkit computes it, on an imported test set.

KITTI's object benchmark ranks 2D detectors by AP_R40 (Simonelli et al. 2019, adopted by the
devkit in 2019) at three difficulty levels (:data:`~simgen.formats.kitti_difficulty.DIFFICULTIES`;
moderate ranks), with a minimum box IoU of 0.7 for Car and 0.5 for Pedestrian and Cyclist. This
module follows the devkit's ``evaluate_object.cpp`` step by step, so a driving team can set its
numbers beside published ones:

* **Objects** (``cleanData``): an object of the class counts when its occlusion level and
  truncation are at most the level's and its height (``bottom - top`` of KITTI's inclusive pixel
  box) at least the level's minimum; otherwise it is ignored (neither a hit nor a miss, though a
  detection may be spent on it). The neighbouring type of a class (Van for Car, Person_sitting
  for Pedestrian: the import's ``ignore_as``) is always ignored; every other type is not part
  of the class at all. ``DontCare`` regions are kept apart.
* **Detections**: one lower than the level's minimum height (the height cut to a whole number
  of pixels, as the devkit's ``int32_t``) is ignored *whatever its class*, a detection of
  another class is left out. That first rule is the devkit's: a small detection of another
  class can be spent on an object of this one, which then is no miss.
* **Matching** (``computeStatistics``), object by object in label order: to find the score
  thresholds, the highest-scoring detection overlapping the object by more than the class's IoU;
  at each threshold, the one overlapping it most among the counted detections, else the first
  overlapping ignored one. A counted object matched to a counted detection is a true positive;
  a counted object without one a miss; a match involving anything ignored counts nothing.
  Unmatched counted detections are false positives, except those inside a ``DontCare`` region
  (intersection over the detection's own area above the class's IoU).
* **Thresholds** (``getThresholds``): the scores of the true positives, sorted, thinned to about
  one per 1/40 of recall; precision at each (true positives over true plus false positives at
  that score and above), then the running maximum from the lowest score up; AP_R40 is the
  sum of the 2nd to the 41st of 41 values over 40.

Boxes are KITTI's: a COCO box ``[x, y, w, h]`` of simgen's (continuous edges) is KITTI's
``(x, y, x + w - 1, y + h - 1)``, and so are the detections'. Every detection counts (not only
pycocotools' best 100 per image).

The devkit was built for KITTI's thousands of test objects. On a class with n < 41 counted
objects it fills at most n of its 41 values, so even a perfect detector scores (n - 1) / 40
(0.025 for two objects): compare its Pedestrian and Cyclist values on a small test set with
that in mind. Where the devkit's Python ports differ (an object exactly at the minimum height
is ignored there, counted here and in the C++ devkit; a detection's height is not cut to whole
pixels there), this module follows the C++ devkit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simgen.formats.kitti_difficulty import DIFFICULTIES, Difficulty
from simgen.formats.kitti_import import KITTI_IGNORE_AS, kitti_box
from simgen.gap.boxes import box_overlaps

KITTI_MIN_IOU = {"Car": 0.7, "Van": 0.7, "Truck": 0.7, "Tram": 0.7}
"""The devkit's minimum IoU for a hit, per class; every other class: :data:`DEFAULT_MIN_IOU`."""

DEFAULT_MIN_IOU = 0.5
"""The devkit's minimum IoU of Pedestrian, Cyclist and the rest."""

SAMPLE_POINTS = 41
"""The devkit's ``N_SAMPLE_PTS``: recall 0, 1/40, ..., 1; AP_R40 leaves out the first."""

LEVEL_KEYS = {"moderate": "kitti_AP_R40", "easy": "kitti_AP_R40_easy", "hard": "kitti_AP_R40_hard"}
"""The result key of each level; moderate, the level KITTI ranks by, has the plain name."""

KITTI_CONVENTION = (
    "KITTI's AP as its object devkit computes it (evaluate_object.cpp): difficulty levels from "
    "the labels' truncation, occlusion and height (kitti_AP_R40 moderate, _easy, _hard), objects "
    "matched in label order, DontCare regions, IoU 0.7 for Car, Van, Truck and Tram, 0.5 for the "
    "rest; precision at the devkit's 41 score thresholds, AP_R40 the mean of the last 40"
)
"""How ``kitti_AP_R40`` is computed, as recorded in ``gap.json``'s conventions."""


def is_kitti_import(coco: dict[str, Any]) -> bool:
    """Whether a COCO dict was written by ``simgen import-kitti`` (every image names its frame)."""
    images = coco.get("images") or []
    return bool(images) and all("kitti_frame" in image for image in images)


def min_iou(name: str) -> float:
    """KITTI's minimum IoU for a hit on class ``name``."""
    return KITTI_MIN_IOU.get(name, DEFAULT_MIN_IOU)


@dataclass(frozen=True)
class TruthFrame:
    """One test frame's labels as the devkit reads them.

    Attributes:
        names: (G,) the class each object is labelled as (the import's category name).
        neighbour: (G,) bool, the object is of its class's neighbouring type (a van labelled
            ``Car`` by the import's ``ignore_as``): ignored by that class at every level.
        truncated: (G,) float64, KITTI's truncation in [0, 1].
        occluded: (G,) int64, KITTI's occlusion level 0-3.
        boxes: (G, 4) float64, KITTI's inclusive ``left, top, right, bottom`` in pixels.
        dontcare: (D, 4) float64, the frame's ``DontCare`` regions, the same way.
    """

    names: tuple[str, ...]
    neighbour: np.ndarray
    truncated: np.ndarray
    occluded: np.ndarray
    boxes: np.ndarray
    dontcare: np.ndarray


def truth_frames(coco: Mapping[str, Any], image_ids: Sequence[int]) -> list[TruthFrame]:
    """The labels of the frames ``image_ids`` (in that order) of a ``simgen import-kitti`` COCO.

    Each object is read from its annotation's ``kitti`` fields (``type``, ``truncated``,
    ``occluded``, and ``box`` where recorded, else KITTI's box of its ``bbox``); a ``DontCare``
    region, copied to every category by the import, is kept once.
    """
    names = {c["id"]: c["name"] for c in coco["categories"]}
    ignore_as = (coco.get("info") or {}).get("ignore_as", KITTI_IGNORE_AS)
    by_image: dict[int, list[dict[str, Any]]] = {i: [] for i in image_ids}
    for ann in coco["annotations"]:
        if ann["image_id"] in by_image and "kitti" in ann:
            by_image[ann["image_id"]].append(ann)
    frames = []
    for image_id in image_ids:
        objects, regions = [], []
        for ann in sorted(by_image[image_id], key=lambda a: a["id"]):
            fields = ann["kitti"]
            box = tuple(fields["box"]) if "box" in fields else kitti_box(ann["bbox"])
            if fields["type"] == "DontCare":
                if box not in regions:
                    regions.append(box)
                continue
            name = names[ann["category_id"]]
            objects.append(
                (
                    name,
                    ignore_as.get(fields["type"]) == name,
                    fields["truncated"],
                    fields["occluded"],
                    box,
                )
            )
        frames.append(
            TruthFrame(
                names=tuple(o[0] for o in objects),
                neighbour=np.array([o[1] for o in objects], dtype=bool),
                truncated=np.array([o[2] for o in objects], dtype=np.float64),
                occluded=np.array([o[3] for o in objects], dtype=np.int64),
                boxes=np.array([o[4] for o in objects], dtype=np.float64).reshape(-1, 4),
                dontcare=np.array(regions, dtype=np.float64).reshape(-1, 4),
            )
        )
    return frames


def object_flags(frame: TruthFrame, name: str, level: Difficulty) -> np.ndarray:
    """The devkit's ``ignored_gt`` of one frame for class ``name``: (G,) int8, 0 counted,
    1 ignored (too hard for ``level``, or the neighbouring type), -1 another class."""
    heights = frame.boxes[:, 3] - frame.boxes[:, 1]
    too_hard = (
        (frame.occluded > level.max_occluded)
        | (frame.truncated > level.max_truncated)
        | (heights < level.min_height)
    )
    of_class = np.array([n == name for n in frame.names], dtype=bool).reshape(-1)
    flags = np.full(len(frame.names), -1, dtype=np.int8)
    flags[of_class & (frame.neighbour | too_hard)] = 1
    flags[of_class & ~frame.neighbour & ~too_hard] = 0
    return flags


def detection_flags(
    boxes: np.ndarray, labels: Sequence[str], name: str, level: Difficulty
) -> np.ndarray:
    """The devkit's ``ignored_det``: (N,) int8, 1 lower than ``level``'s minimum height (cut to
    whole pixels, whatever the class), else 0 for class ``name``, -1 for another class."""
    heights = np.trunc(np.abs(boxes[:, 3] - boxes[:, 1])) if len(boxes) else np.zeros(0)
    flags = np.where(np.array([lab == name for lab in labels], dtype=bool), 0, -1).astype(np.int8)
    flags[heights < level.min_height] = 1
    return flags


@dataclass(frozen=True)
class FrameCounts:
    """The devkit's ``tPrData`` of one frame: true positives, false positives, misses, and the
    scores of the true positives' detections, (tp,) float64."""

    tp: int
    fp: int
    fn: int
    scores: np.ndarray


@dataclass(frozen=True)
class ClassFrame:
    """One frame prepared for one class and level: what ``computeStatistics`` reads.

    Attributes:
        iou: (G, N) float64 IoU of each object with each detection.
        objects: (G,) int8 from :func:`object_flags`.
        scores: (N,) float64 detection scores.
        detections: (N,) int8 from :func:`detection_flags`.
        in_dontcare: (R, N) float64, each ``DontCare`` region's overlap with each detection
            (intersection over the detection's area).
    """

    iou: np.ndarray
    objects: np.ndarray
    scores: np.ndarray
    detections: np.ndarray
    in_dontcare: np.ndarray


def frame_counts(frame: ClassFrame, threshold: float | None, min_overlap: float) -> FrameCounts:
    """The devkit's ``computeStatistics`` for one frame, class and level.

    Args:
        frame: from :func:`devkit_ap`'s preparation.
        threshold: ``None`` for the pass that collects the true positives' scores (a match is
            the highest-scoring detection); else detections scoring below it are left out and
            a match is the detection overlapping most, false positives counted.
        min_overlap: the class's IoU; a candidate overlaps by more than it.
    """
    iou, scores, detection_flag = frame.iou, frame.scores, frame.detections
    collecting = threshold is None
    usable = detection_flag != -1
    if not collecting:
        usable &= scores >= threshold
    assigned = np.zeros(len(scores), dtype=bool)
    tp = fn = 0
    hits: list[float] = []
    for i, flag in enumerate(frame.objects):
        if flag == -1:
            continue
        candidates = usable & ~assigned & (iou[i] > min_overlap)
        chosen = -1
        if candidates.any():
            if collecting:  # the first of the highest scores
                chosen = int(np.flatnonzero(candidates)[np.argmax(scores[candidates])])
            else:
                counted = candidates & (detection_flag == 0)
                if counted.any():  # the first of the largest overlaps
                    chosen = int(np.flatnonzero(counted)[np.argmax(iou[i][counted])])
                else:  # the first ignored one
                    chosen = int(np.flatnonzero(candidates)[0])
        if chosen < 0:
            fn += int(flag == 0)
        elif flag == 1 or detection_flag[chosen] == 1:
            assigned[chosen] = True
        else:
            tp += 1
            hits.append(float(scores[chosen]))
            assigned[chosen] = True
    fp = 0
    if not collecting:
        open_ = ~assigned & (detection_flag == 0) & usable
        fp = int(open_.sum())
        for region in frame.in_dontcare:
            inside = open_ & (region > min_overlap)
            open_ &= ~inside
            fp -= int(inside.sum())
    return FrameCounts(tp, fp, fn, np.asarray(hits, dtype=np.float64))


def score_thresholds(scores: np.ndarray, positives: int) -> np.ndarray:
    """The devkit's ``getThresholds``: of the true positives' ``scores`` (any order), sorted
    high to low, the ones nearest to each 1/40 step of recall over ``positives`` objects (the
    last always kept). Returns (T,) float64, T <= the number of scores."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    kept = []
    current = 0.0
    last = len(ordered) - 1
    for i, score in enumerate(ordered):
        left = (i + 1) / positives
        right = (i + 2) / positives if i < last else left
        if i < last and (right - current) < (current - left):
            continue
        kept.append(score)
        current += 1.0 / (SAMPLE_POINTS - 1.0)
    return np.asarray(kept, dtype=np.float64)


def devkit_ap(
    frames: Sequence[TruthFrame],
    detections: Sequence[tuple[np.ndarray, np.ndarray, Sequence[str]]],
    name: str,
    level: Difficulty,
) -> float | None:
    """AP_R40 of class ``name`` at ``level`` over the frames, as the devkit's ``eval_class``.

    Args:
        frames: from :func:`truth_frames`.
        detections: per frame ``(boxes (N, 4) float KITTI inclusive boxes, scores (N,) float,
            class names (N,))``.
        name: the class.
        level: the difficulty level.

    Returns:
        AP_R40 in [0, 1], or ``None`` when no object of the class counts at this level.
    """
    overlap = min_iou(name)
    prepared = []
    for frame, (boxes, scores, labels) in zip(frames, detections, strict=True):
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        prepared.append(
            ClassFrame(
                iou=box_overlaps(frame.boxes, boxes),
                objects=object_flags(frame, name, level),
                scores=np.asarray(scores, dtype=np.float64).reshape(-1),
                detections=detection_flags(boxes, labels, name, level),
                in_dontcare=box_overlaps(boxes, frame.dontcare, over="first").T,
            )
        )
    positives = sum(int((item.objects == 0).sum()) for item in prepared)
    if positives == 0:
        return None
    found = [frame_counts(item, None, overlap).scores for item in prepared]
    thresholds = score_thresholds(np.concatenate(found), positives)[:SAMPLE_POINTS]
    precision = np.zeros(SAMPLE_POINTS, dtype=np.float64)
    for t, threshold in enumerate(thresholds):
        counts = [frame_counts(item, threshold, overlap) for item in prepared]
        tp, fp = sum(c.tp for c in counts), sum(c.fp for c in counts)
        precision[t] = tp / (tp + fp) if tp + fp else 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(envelope[1:].sum() / (SAMPLE_POINTS - 1))


def kitti_ap(
    coco: Mapping[str, Any],
    image_ids: Sequence[int],
    detections: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    classes: Sequence[str],
) -> dict[str, dict[str, float | None]]:
    """KITTI's AP_R40 per class at each level, for the detector's output on an imported test set.

    Args:
        coco: the test set's whole COCO dict, as ``simgen import-kitti`` wrote it.
        image_ids: the frames scored, in the order of ``detections``.
        detections: per frame ``(boxes (N, 4) x0, y0, x1, y1 in continuous pixel edges, scores
            (N,), labels (N,) int indices into classes)``.
        classes: the detector's class names.

    Returns:
        ``{key: {name: AP_R40 or None}}`` with the keys of :data:`LEVEL_KEYS`.
    """
    frames = truth_frames(coco, image_ids)
    converted = []
    for boxes, scores, labels in detections:
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        b[:, 2:] -= 1.0  # continuous edges -> KITTI's inclusive pixel indices (as kitti_box)
        converted.append((b, scores, [classes[int(k)] for k in labels]))
    return {
        key: {name: devkit_ap(frames, converted, name, DIFFICULTIES[level]) for name in classes}
        for level, key in LEVEL_KEYS.items()
    }
