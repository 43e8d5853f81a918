"""The judge's box overlap: IoU and intersection over the first box, as KITTI's devkit measures."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.gap.boxes import box_overlaps

A = np.array([[0.0, 0.0, 10.0, 10.0]])
B = np.array([[5.0, 0.0, 15.0, 10.0], [10.0, 0.0, 20.0, 10.0], [0.0, 0.0, 5.0, 5.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overlaps_as_the_devkit(dtype) -> None:
    iou = box_overlaps(A, B, dtype=dtype)
    assert iou.dtype == dtype and iou.shape == (1, 3)
    assert iou[0] == pytest.approx([50 / 150, 0.0, 25 / 100])
    first = box_overlaps(B, A, over="first", dtype=dtype)
    assert first.shape == (3, 1)
    assert first[:, 0] == pytest.approx([0.5, 0.0, 1.0])


@pytest.mark.parametrize(
    "other",
    [
        [10.0, 10.0, 20.0, 20.0],  # touching at a corner
        [0.0, 10.0, 10.0, 20.0],  # sharing an edge: zero height
        [20.0, 0.0, 30.0, 10.0],  # apart
        [5.0, 5.0, 5.0, 8.0],  # a zero-width box inside
    ],
)
def test_no_positive_overlap_is_zero(other) -> None:
    assert box_overlaps(A, np.array([other]))[0, 0] == 0.0
    assert box_overlaps(np.array([other]), A, over="first")[0, 0] == 0.0


def test_shapes_of_empty_and_single_sets() -> None:
    assert box_overlaps(np.zeros((0, 4)), B).shape == (0, 3)
    assert box_overlaps(A, np.zeros((0, 4))).shape == (1, 0)
    assert box_overlaps(A[0], B[0]).shape == (1, 1)  # one box each, reshaped
