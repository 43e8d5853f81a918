"""KITTI's difficulty levels: ``simgen import-kitti --difficulty`` flags what a level does not
score, and ``simgen gap`` then ignores detections lower than its minimum height."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.formats.kitti_difficulty import (
    DIFFICULTIES,
    INFO_KEY,
    min_detection_height,
    recorded_level,
)
from simgen.formats.kitti_import import import_kitti
from tests.helpers import kitti_folder


def car(top: float, bottom: float, truncated: float = 0.0, occluded: int = 0) -> str:
    """A Car label line with its box's rows ``top`` to ``bottom`` (columns 10 to 59)."""
    return (
        f"Car {truncated:.2f} {occluded} -1.50 10.00 {top:.2f} 59.00 {bottom:.2f} "
        "1.50 1.60 3.90 1.00 1.60 20.00 -1.55\n"
    )


VAN = "Van 0.00 0 -1.50 100.00 20.00 149.00 69.00 2.00 1.80 4.50 3.00 1.60 20.00 -1.55\n"


@pytest.mark.parametrize(
    "level, truncated, occluded, height, scored",
    [
        ("easy", 0.0, 0, 40.5, True),
        ("easy", 0.0, 0, 40.0, True),  # the C++ devkit ignores height < MIN_HEIGHT only
        ("easy", 0.0, 0, 39.5, False),
        ("easy", 0.15, 0, 50.0, True),
        ("easy", 0.16, 0, 50.0, False),
        ("easy", 0.0, 1, 50.0, False),
        ("moderate", 0.30, 1, 25.5, True),
        ("moderate", 0.0, 0, 25.0, True),
        ("moderate", 0.0, 0, 24.9, False),
        ("moderate", 0.31, 0, 50.0, False),
        ("moderate", 0.0, 2, 50.0, False),
        ("hard", 0.50, 2, 25.5, True),
        ("hard", 0.51, 0, 50.0, False),
        ("hard", 0.0, 3, 50.0, False),
        ("hard", 0.0, 0, 25.0, True),
        ("hard", 0.0, 0, 24.9, False),
    ],
)
def test_levels_follow_the_devkit(
    level: str, truncated: float, occluded: int, height: float, scored: bool
) -> None:
    box = (10.0, 20.0, 59.0, 20.0 + height)
    assert DIFFICULTIES[level].scores(truncated, occluded, box) is scored


@pytest.mark.parametrize(
    "level, flags",
    [
        (None, [False, False, False, False, True]),
        ("easy", [False, True, True, True, True]),
        ("moderate", [False, True, True, False, True]),
        ("hard", [False, True, False, False, True]),
    ],
)
def test_import_flags_what_the_level_does_not_score(
    tmp_path: Path, level: str | None, flags: list[bool]
) -> None:
    # A big visible car, a 20 px car, a largely occluded car, a partly occluded 30 px car, a van.
    labels = car(20, 69) + car(20, 40) + car(20, 69, occluded=2) + car(20, 50, occluded=1) + VAN
    root = kitti_folder(tmp_path / "k", {"000000": labels})
    summary = import_kitti(root, tmp_path / "out", difficulty=level)
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    instances = [a for a in coco["annotations"] if not a["iscrowd"]]
    assert [a["ignore"] for a in instances] == flags
    assert summary["ignored"] == sum(flags)
    expected = DIFFICULTIES[level].info() if level else None
    assert coco["info"].get(INFO_KEY) == recorded_level(coco) == expected
    assert min_detection_height(coco) == (DIFFICULTIES[level].min_height if level else None)


def test_unknown_level_is_refused_before_anything_is_written(tmp_path: Path, capsys) -> None:
    from simgen.cli import main

    root = kitti_folder(tmp_path / "k", {"000000": car(20, 69)})
    with pytest.raises(SimgenError, match="unknown difficulty 'medium'"):
        import_kitti(root, tmp_path / "out", difficulty="medium")
    assert main(["import-kitti", str(root), "--out", str(tmp_path / "o"), "--difficulty",
                 "medium", "-q"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--difficulty" in err and "easy, moderate, hard" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


def _ap50(tmp_path: Path, level: str | None, boxes: list[list[float]]) -> float:
    """Car AP50 of ``boxes`` (x0 y0 x1 y1, scores falling in order) on a frame with a 50 px
    car and a 20 px car, imported at ``level``."""
    from simgen.gap.data import load_detection_set
    from simgen.gap.evaluate import evaluate

    root = kitti_folder(tmp_path / "k", {"000000": car(20, 69) + car(75, 95)})
    import_kitti(root, tmp_path / "out", difficulty=level)
    test = load_detection_set(tmp_path / "out", categories=["Car"])
    found = np.asarray(boxes, np.float32)
    scores = np.linspace(1.0, 0.5, len(found)).astype(np.float32)
    return evaluate(test, [(found, scores, np.zeros(len(found), np.int64))])["AP50"]


BIG_CAR = [10.0, 20.0, 60.0, 70.0]
"""A detection on the 50 px car, exact."""


@pytest.mark.parametrize("level", ["moderate", "hard"])
def test_a_car_below_the_level_is_no_miss(tmp_path: Path, level: str) -> None:
    assert _ap50(tmp_path, level, [BIG_CAR]) == pytest.approx(1.0)
    # Every object scored: the 20 px car is a miss, so recall stops at one half.
    assert _ap50(tmp_path / "all", None, [BIG_CAR]) == pytest.approx(51 * 1.0 / 101)


@pytest.mark.parametrize(
    "height, counted",
    [(25.5, False), (26.0, True)],  # KITTI's height of a detection: its COCO height minus 1
)
def test_a_detection_below_the_minimum_height_is_ignored(
    tmp_path: Path, height: float, counted: bool
) -> None:
    low = [150.0, 10.0, 190.0, 10.0 + height]  # on nothing, ranked above the car
    ap = _ap50(tmp_path, "moderate", [low, BIG_CAR])
    # Counted, the false positive ranked first halves the precision at every recall.
    assert ap == pytest.approx(0.5 if counted else 1.0)


@pytest.mark.parametrize("level", [None, "moderate"])
def test_gap_json_names_the_level_its_test_set_was_scored_at(
    tmp_path: Path, level: str | None
) -> None:
    pytest.importorskip("torch")
    from simgen.gap.run import run_gap

    root = kitti_folder(tmp_path / "k", {f"{i:06d}": car(20, 69) + car(75, 95) for i in range(4)})
    import_kitti(root, tmp_path / "train")
    import_kitti(root, tmp_path / "test", difficulty=level)
    result = run_gap(
        tmp_path / "train", tmp_path / "test", tmp_path / "out", backbone="scratch", steps=2,
        size=64, seeds=1,
    )  # fmt: skip
    written = json.loads((tmp_path / "out" / "gap.json").read_text())["conventions"]
    assert written == result["conventions"]
    assert written.get("kitti_difficulty") == (DIFFICULTIES[level].info() if level else None)
    # A KITTI test set: KITTI's own AP is scored and named too, per row and on the curve.
    assert "object devkit" in written["kitti_AP_R40"]
    classes = set(written["classes"])
    for key in ("kitti_AP_R40", "kitti_AP_R40_easy", "kitti_AP_R40_hard"):  # every level
        assert set(result["rows"][0][key]) == classes and "Car" in classes
        assert set(result["curve"][0][f"{key}_std"]) == classes
    assert result["rows"][0]["kitti_AP_R40"]["Car"] is not None
