"""KITTI's AP_R40 as its object devkit computes it, reported by ``simgen gap`` on test sets
imported from KITTI: exact values on hand-made frames (the devkit's thresholds, IoU, neighbouring
types, DontCare regions, levels and its quirks), and the plumbing through ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simgen.formats.kitti_difficulty import DIFFICULTIES
from simgen.formats.kitti_import import import_kitti, kitti_box
from simgen.gap.kitti_metric import (
    LEVEL_KEYS,
    TruthFrame,
    devkit_ap,
    is_kitti_import,
    min_iou,
    score_thresholds,
    truth_frames,
)
from tests.helpers import kitti_folder

MODERATE = DIFFICULTIES["moderate"]
CAR = (100.0, 100.0, 199.0, 159.0)  # KITTI's inclusive box: 99 x 59 px by the devkit's measure


def frame(objects: list[tuple], dontcare: list[tuple] = ()) -> TruthFrame:
    """A frame of ``(class, box, truncated, occluded[, neighbour])`` objects."""
    return TruthFrame(
        names=tuple(o[0] for o in objects),
        neighbour=np.array([o[4] if len(o) > 4 else False for o in objects], dtype=bool),
        truncated=np.array([o[2] for o in objects], dtype=np.float64),
        occluded=np.array([o[3] for o in objects], dtype=np.int64),
        boxes=np.array([o[1] for o in objects], dtype=np.float64).reshape(-1, 4),
        dontcare=np.array(dontcare, dtype=np.float64).reshape(-1, 4),
    )


def shifted(box: tuple[float, ...], iou: float) -> tuple[float, ...]:
    """``box`` moved right until its IoU with itself (the devkit's width, no +1) is ``iou``."""
    left, top, right, bottom = box
    dx = (right - left) * (1 - iou) / (1 + iou)
    return (left + dx, top, right + dx, bottom)


def detections(*found: tuple[tuple[float, ...], float, str]):
    """One frame's detections from ``(box, score, class)``."""
    return (
        np.array([f[0] for f in found], dtype=np.float64).reshape(-1, 4),
        np.array([f[1] for f in found], dtype=np.float64),
        [f[2] for f in found],
    )


def cars(n: int, iou: float = 0.9, name: str = "Car", **extra) -> tuple[list, list]:
    """``n`` frames, each one object of ``name`` found once at ``iou`` (scores falling)."""
    frames = [frame([(name, CAR, 0.0, 0)]) for _ in range(n)]
    found = [detections((shifted(CAR, iou), 1.0 - i / (2 * n), name)) for i in range(n)]
    return frames, found


@pytest.mark.parametrize("n", [1, 2, 10, 40, 41, 60, 150])
def test_a_perfect_detector_fills_n_of_41_points(n: int) -> None:
    # The devkit keeps one score threshold per true positive up to 41 of them: on n < 41
    # objects even a perfect detector scores (n - 1) / 40.
    frames, found = cars(n)
    assert devkit_ap(frames, found, "Car", MODERATE) == pytest.approx(min(n - 1, 40) / 40)


@pytest.mark.parametrize(
    "name, iou, hit", [("Car", 0.75, True), ("Car", 0.65, False), ("Pedestrian", 0.55, True)]
)
def test_cars_need_more_than_0_7(name: str, iou: float, hit: bool) -> None:
    frames, found = cars(60, iou=iou, name=name)
    assert devkit_ap(frames, found, name, MODERATE) == pytest.approx(1.0 if hit else 0.0)


def test_precision_after_a_false_positive() -> None:
    # 60 cars found; one false positive scoring above all of them: precision 60/61 at full
    # recall, at the first threshold 1/2.
    frames, found = cars(60)
    boxes, scores, names = found[0]
    found[0] = (
        np.vstack([boxes, [[500.0, 100.0, 599.0, 159.0]]]),
        np.append(scores, 2.0),
        [*names, "Car"],
    )
    thresholds = score_thresholds(np.array([f[1][0] for f in cars(60)[1]]), 60)
    assert len(thresholds) == 41
    precision = []
    for t in thresholds:
        tp = int(sum(f[1][0] >= t for f in cars(60)[1]))
        precision.append(tp / (tp + 1))
    envelope = np.maximum.accumulate(np.array(precision)[::-1])[::-1]
    expected = envelope[1:].sum() / 40
    assert devkit_ap(frames, found, "Car", MODERATE) == pytest.approx(expected)
    assert expected < 1.0


def test_a_van_is_neither_hit_nor_miss() -> None:
    # 60 frames: a car found and a van (the import's Car, flagged neighbour) detected as Car.
    van = (300.0, 100.0, 399.0, 159.0)
    frames = [frame([("Car", CAR, 0.0, 0), ("Car", van, 0.0, 0, True)]) for _ in range(60)]
    found = [
        detections((shifted(CAR, 0.9), 0.9 - i / 200, "Car"), (van, 0.95 - i / 200, "Car"))
        for i in range(60)
    ]
    assert devkit_ap(frames, found, "Car", MODERATE) == pytest.approx(1.0)
    other = [frame([("Car", CAR, 0.0, 0), ("Truck", van, 0.0, 0)]) for _ in range(60)]
    assert devkit_ap(other, found, "Car", MODERATE) < 1.0  # on a truck it is a false positive


@pytest.mark.parametrize("inside, counted", [(1.0, False), (0.75, False), (0.6, True)])
def test_detections_in_dontcare_regions(inside: float, counted: bool) -> None:
    # A false positive whose area lies ``inside`` a DontCare region (over its own area).
    region = (500.0, 100.0, 599.0, 159.0)
    left = 500.0 - (1 - inside) * 99.0
    frames = [frame([("Car", CAR, 0.0, 0)], [region]) for _ in range(60)]
    found = [
        detections(
            (shifted(CAR, 0.9), 0.5 - i / 200, "Car"), ((left, 100, left + 99, 159), 0.9, "Car")
        )
        for i in range(60)
    ]
    ap = devkit_ap(frames, found, "Car", MODERATE)
    assert (ap < 1.0) if counted else ap == pytest.approx(1.0)


@pytest.mark.parametrize(
    "height, truncated, occluded, levels",
    [
        (59.0, 0.0, 0, {"easy", "moderate", "hard"}),
        (30.0, 0.0, 0, {"moderate", "hard"}),  # below easy's 40 px
        (25.0, 0.0, 0, {"moderate", "hard"}),  # exactly the minimum counts (C++ devkit)
        (24.5, 0.0, 0, set()),
        (59.0, 0.2, 0, {"moderate", "hard"}),  # more than easy's 0.15 truncated
        (59.0, 0.4, 0, {"hard"}),
        (59.0, 0.0, 1, {"moderate", "hard"}),
        (59.0, 0.0, 2, {"hard"}),
        (59.0, 0.0, 3, set()),
    ],
)
def test_levels(height: float, truncated: float, occluded: int, levels: set[str]) -> None:
    box = (100.0, 100.0, 199.0, 100.0 + height)
    frames = [frame([("Car", box, truncated, occluded)]) for _ in range(60)]
    found = [detections((box, 1.0 - i / 200, "Car")) for i in range(60)]
    for level, difficulty in DIFFICULTIES.items():
        ap = devkit_ap(frames, found, "Car", difficulty)
        assert (ap == pytest.approx(1.0)) if level in levels else ap is None, level


def test_a_small_detection_of_another_class_is_spent_on_a_car() -> None:
    # The devkit flags every detection below the minimum height ignored, whatever its class; to
    # find score thresholds it takes an object's highest-scoring overlapping detection, so a
    # 24.5 px pedestrian detection over a 26 px car takes the car: no car is a true positive.
    box = (100.0, 100.0, 120.0, 126.0)
    small = (100.0, 100.0, 120.0, 124.5)
    frames = [frame([("Car", box, 0.0, 0)]) for _ in range(60)]
    plain = [detections((box, 0.5 - i / 200, "Car")) for i in range(60)]
    assert devkit_ap(frames, plain, "Car", MODERATE) == pytest.approx(1.0)
    stolen = [
        detections((box, 0.5 - i / 200, "Car"), (small, 0.9, "Pedestrian")) for i in range(60)
    ]
    assert devkit_ap(frames, stolen, "Car", MODERATE) == 0.0
    assert devkit_ap(frames, stolen, "Pedestrian", MODERATE) is None


def test_no_object_of_the_class() -> None:
    frames, found = cars(5)
    assert devkit_ap(frames, found, "Cyclist", MODERATE) is None


def test_score_thresholds_thin_to_recall_steps() -> None:
    # 80 objects, 80 true positives: one threshold per 2 of them, about 1/40 of recall each.
    thresholds = score_thresholds(np.linspace(1.0, 0.01, 80), 80)
    assert len(thresholds) == 41 and thresholds[0] == 1.0 and thresholds[-1] == pytest.approx(0.01)
    assert len(score_thresholds(np.array([0.3, 0.9]), 10)) == 2  # few hits: every one kept


def test_kitti_box_is_inclusive() -> None:
    assert kitti_box([10.0, 20.0, 60.0, 40.0]) == (10.0, 20.0, 69.0, 59.0)


@pytest.mark.parametrize(
    "name, iou", [("Car", 0.7), ("Van", 0.7), ("Pedestrian", 0.5), ("Cyclist", 0.5)]
)
def test_devkit_thresholds(name: str, iou: float) -> None:
    assert min_iou(name) == iou


def label(kind: str, box: tuple[float, float, float, float], occluded: int = 0) -> str:
    left, top, right, bottom = box
    return (
        f"{kind} 0.00 {occluded} -1.50 {left:.2f} {top:.2f} {right:.2f} {bottom:.2f} "
        "1.50 1.60 3.90 1.00 1.60 20.00 -1.55\n"
    )


SMALL_CAR = (10.0, 20.0, 69.0, 79.0)  # COCO box [10, 20, 60, 60] in the helper's 200x100 frame
VAN = (110.0, 20.0, 169.0, 79.0)


def test_truth_frames_read_the_import(tmp_path: Path) -> None:
    lines = label("Car", SMALL_CAR, occluded=1) + label("Van", VAN) + label("DontCare", VAN)
    import_kitti(kitti_folder(tmp_path / "k", {"000000": lines}), tmp_path / "out")
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    (truth,) = truth_frames(coco, [coco["images"][0]["id"]])
    assert truth.names == ("Car", "Car") and truth.neighbour.tolist() == [False, True]
    assert truth.occluded.tolist() == [1, 0] and truth.boxes.tolist() == [
        list(SMALL_CAR),
        list(VAN),
    ]
    assert truth.dontcare.tolist() == [list(VAN)]  # once, though copied to every category
    for ann in coco["annotations"]:
        del ann["kitti"]["box"]  # an older import: KITTI's box from the COCO box
    (again,) = truth_frames(coco, [coco["images"][0]["id"]])
    assert np.allclose(again.boxes, truth.boxes)


def test_evaluate_reports_three_levels(tmp_path: Path) -> None:
    pytest.importorskip("pycocotools")
    from simgen.gap.data import load_detection_set
    from simgen.gap.evaluate import evaluate

    stems = [f"{i:06d}" for i in range(45)]
    root = kitti_folder(
        tmp_path / "k", {s: label("Car", SMALL_CAR) + label("Van", VAN) for s in stems}
    )
    import_kitti(root, tmp_path / "out", difficulty="moderate")
    test = load_detection_set(tmp_path / "out", categories=["Car", "Pedestrian"])
    x0, y0, x1, y1 = SMALL_CAR
    exact = np.array([[x0, y0, x1 + 1, y1 + 1]], np.float32)  # continuous edges of the label
    found = [
        (exact, np.array([0.9 - i / 100], np.float32), np.zeros(1, np.int64)) for i in range(45)
    ]
    scores = evaluate(test, found)
    for key in LEVEL_KEYS.values():
        assert scores[key]["Car"] == pytest.approx(1.0) and scores[key]["Pedestrian"] is None


def test_only_kitti_imports_get_the_metric(tmp_path: Path) -> None:
    root = kitti_folder(tmp_path / "k", {"000000": label("Car", SMALL_CAR)})
    import_kitti(root, tmp_path / "out")
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert is_kitti_import(coco)
    for image in coco["images"]:
        del image["kitti_frame"]
    assert not is_kitti_import(coco) and not is_kitti_import({"images": []})
