"""Multi-scale testing: the judge's detector run on each scored image at several input sizes.

A detector trained at one input size finds objects best in the range of pixel sizes it saw
most. Run again on the image shrunk (``scale`` < 1), a big object near the camera becomes one of
a middle size. Each shrunken pass keeps only the detections at least :data:`MIN_SHRUNK_HEIGHT`
pixels tall in its own input (as SNIP's valid ranges, Singh & Davis 2018: objects smaller than
that are the full-size pass's to find); then the detections of all passes, each mapped back to
the original image's pixels, are merged by greedy non-maximum suppression per class.

With mirrored passes (``simgen gap --test-flip``), every scale is also predicted on the image
mirrored left to right; :func:`mirror_detections` maps those boxes back before the merge. Only
for detectors trained with flips (an object class without a handedness, as cars and people).

Pure numpy; the judges (:mod:`simgen.gap.judges`) call :func:`merge_detections` on their
per-scale predictions and :func:`scaled_size` to size the extra passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simgen.errors import SimgenError
from simgen.gap.boxes import box_overlaps

Detections = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One image's detections: ``(boxes (K, 4) float32 x0, y0, x1, y1 in original pixels, scores
(K,) float32, labels (K,) int64)``."""

MERGE_IOU = 0.5
"""Two same-class detections overlapping by more than this are one object: the lower-scoring
one is dropped."""

TOP_K = 100
"""Detections kept per image after merging (pycocotools scores at most 100)."""

MIN_SHRUNK_HEIGHT = 20.0
"""A pass at a scale below 1 keeps the detections at least this many pixels tall in its own
input (on stride-8 features, two and a half cells); the full-size pass keeps all of its own."""

SIDE_MULTIPLE = 32
"""Sides of a scaled input are rounded to this (the Lite0 backbone's largest stride)."""


def parse_scales(text: str) -> tuple[float, ...]:
    """``"1,0.5"`` to ``(1.0, 0.5)``: distinct scales in (0, 1], 1 among them, in the given order.

    Raises:
        SimgenError: an unparsable, repeated or out-of-range scale, or no 1, naming
            ``--test-scales``.
    """
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise SimgenError(
            f"expected comma-separated numbers, got '{text}'", file="--test-scales"
        ) from None
    return check_scales(scales)


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """Validate test scales (see :func:`parse_scales`); returns them as a tuple of floats."""
    scales = tuple(float(s) for s in scales)
    for scale in scales:
        if not 0.0 < scale <= 1.0:
            raise SimgenError(f"a scale must be in (0, 1], got {scale:g}", file="--test-scales")
    if len(set(scales)) != len(scales):
        raise SimgenError("each scale once", file="--test-scales")
    if 1.0 not in scales:
        raise SimgenError("the scales must include 1 (the training size)", file="--test-scales")
    return scales


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The input ``(height, width)`` of a pass at ``scale``, each side rounded to 32 (min 32)."""
    return tuple(  # type: ignore[return-value]
        max(SIDE_MULTIPLE, round(side * scale / SIDE_MULTIPLE) * SIDE_MULTIPLE) for side in size
    )


def scaled_name(name: str, scale: float) -> str:
    """The prepared set holding scored set ``name`` at ``scale`` (``"test@0.5"``)."""
    return f"{name}@{scale:g}"


def mirrored_name(name: str) -> str:
    """The prepared set holding prepared set ``name`` mirrored (``"test+flip"``,
    ``"test@0.5+flip"``)."""
    return f"{name}+flip"


def pass_base(name: str) -> str:
    """The scored set an extra pass's prepared set belongs to (``"test@0.5+flip"`` -> ``"test"``);
    any other name unchanged."""
    return name.split("@")[0].removesuffix("+flip")


def is_extra_pass(name: str) -> bool:
    """Whether ``name`` is a shrunken or mirrored pass's prepared set (not a set of its own)."""
    return pass_base(name) != name


def mirror_detections(detections: Detections, width: float) -> Detections:
    """Detections on a mirrored image, mapped back to the image itself.

    Args:
        detections: one image's :data:`Detections` in the mirrored image's original pixels.
        width: that image's original width in pixels.

    Returns:
        The same detections with ``x0, x1`` replaced by ``width - x1, width - x0`` (float32).
    """
    boxes, scores, labels = detections
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    back = boxes.copy()
    back[:, 0] = width - boxes[:, 2]
    back[:, 2] = width - boxes[:, 0]
    return back, scores, labels


def keep_tall(detections: Detections, input_scale: float, min_height: float) -> Detections:
    """The detections at least ``min_height`` pixels tall in their pass's input.

    Args:
        detections: one image's :data:`Detections`, boxes in original pixels.
        input_scale: that pass's letterbox scale of the image (input pixels per original pixel).
        min_height: the smallest height kept, in input pixels.
    """
    boxes, scores, labels = detections
    keep = (boxes[:, 3] - boxes[:, 1]) * input_scale >= min_height
    return boxes[keep], scores[keep], labels[keep]


def merge_detections(
    parts: Sequence[Detections], *, iou: float = MERGE_IOU, top_k: int = TOP_K
) -> Detections:
    """Merge one image's detections from several passes by greedy per-class NMS.

    All detections are visited by descending score (ties in the order of ``parts``, then of
    each part); one is kept unless a kept detection of the same label overlaps it by more than
    ``iou``. At most ``top_k`` are returned, by descending score.

    Args:
        parts: each pass's :data:`Detections`, boxes in the original image's pixels.
        iou: the overlap above which the lower-scoring detection is dropped.
        top_k: detections kept.

    Returns:
        The merged :data:`Detections` (float32 boxes and scores, int64 labels).
    """
    boxes = np.concatenate([np.asarray(p[0], np.float32).reshape(-1, 4) for p in parts])
    scores = np.concatenate([np.asarray(p[1], np.float32).reshape(-1) for p in parts])
    labels = np.concatenate([np.asarray(p[2], np.int64).reshape(-1) for p in parts])
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for index in order:
        if len(kept) == top_k:
            break
        same = [k for k in kept if labels[k] == labels[index]]
        if same and box_overlaps(boxes[same], boxes[index], dtype=np.float32).max() > iou:
            continue
        kept.append(int(index))
    pick = np.asarray(kept, dtype=np.int64)
    return boxes[pick], scores[pick], labels[pick]
