"""Overlap of axis-aligned boxes, the one IoU the judge's scorers and test-time merging share.

Boxes are ``x0, y0, x1, y1`` with ``x1 - x0`` wide (no +1): KITTI's devkit measures its
inclusive pixel boxes this way, and the judge's detections are continuous. Pure numpy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import DTypeLike


def box_overlaps(
    a: np.ndarray,
    b: np.ndarray,
    over: Literal["union", "first"] = "union",
    dtype: DTypeLike = np.float64,
) -> np.ndarray:
    """Overlap of every box of ``a`` with every box of ``b``.

    Args:
        a: (N, 4) boxes; b: (M, 4) boxes (any real dtype, cast to ``dtype``).
        over: ``union`` (IoU) or ``first`` (intersection over the area of ``a``'s box).
        dtype: the arithmetic's float type (the result's too).

    Returns:
        (N, M) of ``dtype``; 0 where the boxes do not overlap with positive width and height.
    """
    a = np.asarray(a, dtype=dtype).reshape(-1, 4)
    b = np.asarray(b, dtype=dtype).reshape(-1, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)  # stays in dtype
    area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    if over == "first":
        denominator = np.broadcast_to(area_a, inter.shape)
    else:
        area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
        denominator = area_a + area_b - inter
    out = np.zeros(inter.shape, dtype=dtype)
    np.divide(inter, denominator, out=out, where=inter > 0)
    return out
