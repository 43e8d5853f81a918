"""Draw COCO labels on an image: filled masks, visible and amodal boxes, names, ignore flags.

Images are (H, W, 3) uint8 RGB arrays throughout. Instance ``k`` of an image gets colour
:func:`instance_colour`; instances flagged ``ignore`` are drawn in :data:`IGNORE_COLOUR` with
"(ignore)" after the name, crowd regions in :data:`CROWD_COLOUR` with "(crowd)".
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError
from simgen.inspect.dataset import annotation_mask, is_box

RGB = tuple[int, int, int]
IGNORE_COLOUR: RGB = (255, 0, 0)
CROWD_COLOUR: RGB = (160, 160, 160)
MASK_ALPHA = 0.55
"""Weight of the instance colour in a filled mask."""


def instance_colour(k: int) -> RGB:
    """A saturated RGB colour for instance ``k`` (golden-ratio hue steps, deterministic)."""
    r, g, b = colorsys.hsv_to_rgb((k * 0.61803) % 1.0, 0.85, 1.0)
    return int(255 * r), int(255 * g), int(255 * b)


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB image from a file.

    Raises:
        SimgenError: the file is missing or not an image.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is None:
        raise SimgenError("image not found or unreadable", file=path)
    return np.ascontiguousarray(image[:, :, ::-1])


def _colour_of(k: int, ann: Mapping[str, Any]) -> RGB:
    if ann.get("iscrowd") == 1:
        return CROWD_COLOUR
    return IGNORE_COLOUR if ann.get("ignore") else instance_colour(k)


def label_text(ann: Mapping[str, Any], names: Mapping[Any, str]) -> str:
    """The caption of an annotation: its category name plus "(ignore)" / "(crowd)"."""
    text = names.get(ann.get("category_id"), str(ann.get("category_id")))
    if ann.get("ignore"):
        text += " (ignore)"
    if ann.get("iscrowd") == 1:
        text += " (crowd)"
    return text


def _rectangle(image: np.ndarray, box: Sequence[float], colour: RGB, thickness: int) -> None:
    """Outline a COCO ``[x, y, w, h]`` box (pixel edges) on ``image`` in place."""
    import cv2

    x, y, w, h = (float(v) for v in box)
    x0, y0 = round(x), round(y)
    x1, y1 = round(x + w) - 1, round(y + h) - 1
    cv2.rectangle(image, (x0, y0), (max(x0, x1), max(y0, y1)), colour, thickness)


def overlay(
    image: np.ndarray,
    annotations: Sequence[Mapping[str, Any]],
    names: Mapping[Any, str],
    *,
    scale: float = 1.0,
    amodal: bool = True,
) -> np.ndarray:
    """Draw labels on a copy of an image.

    Masks are filled semi-transparently (:data:`MASK_ALPHA`), visible ``bbox`` outlined thick,
    ``bbox_amodal`` (when present and ``amodal``) thin, and the category name written above
    the box.

    Args:
        image: (H, W, 3) uint8 RGB.
        annotations: COCO annotations of this image (any segmentation kind, or none).
        names: category id -> name.
        scale: multiplies line widths and text size (use > 1 when the result is shrunk later).
        amodal: also draw ``bbox_amodal``.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    import cv2

    out = np.array(image, dtype=np.uint8, copy=True)
    height, width = out.shape[:2]
    for k, ann in enumerate(annotations):
        mask = annotation_mask(dict(ann), height, width)
        if mask is None:
            continue
        colour = np.array(_colour_of(k, ann), dtype=np.float64)
        out[mask] = ((1 - MASK_ALPHA) * out[mask] + MASK_ALPHA * colour).astype(np.uint8)
    thick, thin = max(1, round(2 * scale)), max(1, round(scale))
    font = 0.45 * scale
    for k, ann in enumerate(annotations):
        colour = _colour_of(k, ann)
        if amodal and is_box(ann.get("bbox_amodal")):
            _rectangle(out, ann["bbox_amodal"], colour, thin)
        if not is_box(ann.get("bbox")):
            continue
        _rectangle(out, ann["bbox"], colour, thick)
        x, y = round(float(ann["bbox"][0])), round(float(ann["bbox"][1]))
        origin = (max(0, x), max(round(12 * scale), y - round(4 * scale)))
        text = label_text(ann, names)
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thick + 1)
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font, colour, thin)
    return out
