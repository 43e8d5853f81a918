"""KITTI's AP_R40 at its per-class IoU, reported by ``simgen gap`` on test sets imported from
KITTI: exact values on hand-made frames, and the interpolation on its own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from simgen.formats.kitti_import import import_kitti
from simgen.gap.kitti_metric import (
    RECALL_POINTS,
    interpolated_ap,
    is_kitti_import,
    min_iou,
)
from tests.helpers import kitti_folder


def label(kind: str, box: tuple[float, float, float, float]) -> str:
    left, top, right, bottom = box
    return (
        f"{kind} 0.00 0 -1.50 {left:.2f} {top:.2f} {right:.2f} {bottom:.2f} "
        "1.50 1.60 3.90 1.00 1.60 20.00 -1.55\n"
    )


CAR_A = (10.0, 20.0, 69.0, 59.0)  # COCO box [10, 20, 60, 40] in the helper's 200x100 frame
CAR_B = (110.0, 20.0, 169.0, 59.0)  # COCO box [110, 20, 60, 40]


def _scores(tmp_path: Path, boxes: list[list[float]], lines: str | None = None) -> dict:
    """``evaluate`` of ``boxes`` (x0 y0 x1 y1, all Car, scores falling in order)."""
    from simgen.gap.data import load_detection_set
    from simgen.gap.evaluate import evaluate

    root = kitti_folder(
        tmp_path / "k", {"000000": lines or label("Car", CAR_A) + label("Car", CAR_B)}
    )
    import_kitti(root, tmp_path / "out")
    test = load_detection_set(tmp_path / "out", categories=["Car", "Pedestrian"])
    found = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.linspace(1.0, 0.5, len(found)).astype(np.float32)
    return evaluate(test, [(found, scores, np.zeros(len(found), np.int64))])


def _shifted(box: tuple[float, float, float, float], iou: float) -> list[float]:
    """A detection the size of the COCO box of ``box``, moved right until its IoU is ``iou``."""
    left, top, right, bottom = box
    width, height = right - left + 1, bottom - top + 1
    dx = width * (1 - iou) / (1 + iou)  # overlap (w - dx) / union (w + dx) = iou
    return [left + dx, top, left + dx + width, top + height]


@pytest.mark.parametrize(
    "ious, car_r40, car_ap50",
    [
        ([0.8, 0.8], 1.0, 1.0),
        ([0.8, 0.6], 0.5, 1.0),  # the loose box is a hit at 0.5, a miss at KITTI's 0.7
        ([0.6, 0.8], 0.25, 1.0),  # ranked first, the loose box halves the precision
        ([0.6, 0.6], 0.0, 1.0),
    ],
)
def test_cars_need_an_iou_of_0_7(tmp_path: Path, ious, car_r40, car_ap50) -> None:
    boxes = [_shifted(CAR_A, ious[0]), _shifted(CAR_B, ious[1])]
    scores = _scores(tmp_path, boxes)
    assert scores["kitti_AP_R40"]["Car"] == pytest.approx(car_r40)
    assert scores["per_class_AP50"]["Car"] == pytest.approx(car_ap50)
    assert scores["kitti_AP_R40"]["Pedestrian"] is None  # no pedestrian to find


def test_recall_zero_is_not_a_point(tmp_path: Path) -> None:
    # One of two cars found: COCO's 101 points count recall 0 (51 of 101), KITTI's 40 do not.
    scores = _scores(tmp_path, [_shifted(CAR_A, 0.9)])
    assert scores["kitti_AP_R40"]["Car"] == pytest.approx(20 / 40)
    assert scores["per_class_AP50"]["Car"] == pytest.approx(51 / 101)


def test_a_van_is_neither_hit_nor_miss(tmp_path: Path) -> None:
    lines = label("Car", CAR_A) + label("Van", CAR_B)
    on_van = _scores(tmp_path / "a", [_shifted(CAR_B, 0.9), _shifted(CAR_A, 0.9)], lines)
    assert on_van["kitti_AP_R40"]["Car"] == pytest.approx(1.0)


def test_only_kitti_imports_get_the_metric(tmp_path: Path) -> None:
    root = kitti_folder(tmp_path / "k", {"000000": label("Car", CAR_A)})
    import_kitti(root, tmp_path / "out")
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert is_kitti_import(coco)
    for image in coco["images"]:
        del image["kitti_frame"]
    assert not is_kitti_import(coco) and not is_kitti_import({"images": []})


@pytest.mark.parametrize(
    "name, iou", [("Car", 0.7), ("Van", 0.7), ("Pedestrian", 0.5), ("Cyclist", 0.5)]
)
def test_devkit_thresholds(name: str, iou: float) -> None:
    assert min_iou(name) == iou


@pytest.mark.parametrize(
    "hits, positives, expected",
    [
        ([True, True], 2, 1.0),
        ([True, False, True], 2, (20 * 1.0 + 20 * 2 / 3) / 40),  # envelope: 2/3 after the miss
        ([False, True], 4, 10 * 0.5 / 40),  # recall 1/4 reached at precision 1/2, no further
        ([], 3, 0.0),
        ([True], 0, None),
    ],
)
def test_interpolated_ap(hits: list[bool], positives: int, expected: float | None) -> None:
    scores = np.linspace(1.0, 0.1, len(hits))
    ap = interpolated_ap(scores, np.asarray(hits, dtype=bool), positives)
    assert ap == (None if expected is None else pytest.approx(expected))
    assert len(RECALL_POINTS) == 40 and RECALL_POINTS[0] == 1 / 40 and RECALL_POINTS[-1] == 1.0
