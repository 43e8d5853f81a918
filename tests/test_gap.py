"""The gap check: the detector learns, evaluation follows BOP's ignore rule, bad input fails."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simgen.config import load_config  # noqa: E402
from simgen.errors import SimgenError  # noqa: E402
from simgen.formats.mask_folder import mask_folder_to_coco  # noqa: E402
from simgen.gap.data import (  # noqa: E402
    augment_batch,
    augment_boxes,
    augment_params,
    load_detection_set,
    make_targets,
    prepare,
)
from simgen.gap.evaluate import evaluate  # noqa: E402
from simgen.gap.model import CenterNet  # noqa: E402
from simgen.gap.run import run_gap  # noqa: E402
from simgen.gap.train import predict  # noqa: E402
from simgen.produce.runner import render_dataset  # noqa: E402

EASY = [
    "image.width=192",
    "image.height=144",
    "views_per_scene=4",
    "camera.distance=[0.5, 0.8]",
    "camera.elevation_deg=[40, 80]",
    "objects.count=[2, 4]",
    "objects.catalog=[{category: box, primitive: box, size: 0.08},"
    " {category: ball, primitive: sphere, size: 0.08},"
    " {category: cone, primitive: cone, size: 0.09}]",
    "lights.shadows=false",
    "placement.mode=upright",
]


@pytest.fixture(scope="module")
def easy(tmp_path_factory):
    root = tmp_path_factory.mktemp("gap")
    render_dataset(load_config(None, [*EASY, "num_images=64", "seed=1"]), root / "train")
    render_dataset(load_config(None, [*EASY, "num_images=16", "seed=2"]), root / "test")
    return root


def test_quick_mode_learns_far_above_an_untrained_model(easy):
    test = load_detection_set(easy / "test")
    untrained = CenterNet(len(test.categories))
    baseline = evaluate(test, predict(untrained, prepare(test, 128)))
    # A step budget, not a time budget: the same training however busy the machine is.
    result = run_gap(
        easy / "train", easy / "test", easy / "out", backbone="scratch", steps=300, size=128,
        seeds=1,
    )  # fmt: skip
    assert result["training"]["synthetic k=0 seed=0"]["steps"] == 300
    (row,) = result["rows"]
    assert row["train"] == "synthetic" and row["backbone"] == "scratch"
    assert row["AP50"] > 0.5 and row["AP50"] > baseline["AP50"] + 0.4, (row, baseline)
    written = json.loads((easy / "out" / "gap.json").read_text())
    assert written["rows"][0]["AP"] == pytest.approx(row["AP"])
    assert set(written["rows"][0]["per_class"]) == {"box", "ball", "cone"}
    per_class_50 = written["rows"][0]["per_class_AP50"]
    assert set(per_class_50) == {"box", "ball", "cone"}
    assert max(per_class_50.values()) >= row["AP50"] >= min(per_class_50.values())
    assert "BOP" in written["conventions"]["ignore"] and written["minutes"] > 0
    for picture in ("per_class_ap.png", "pr_curves.png", "predictions.png", "label_efficiency.png"):
        image = cv2.imread(str(easy / "out" / picture))
        assert image is not None and image.shape[0] > 100 and image.std() > 10


def _tiny_coco(tmp_path: Path, ignore_flags: list[bool]) -> Path:
    images = tmp_path / "images"
    images.mkdir(parents=True)
    cv2.imwrite(str(images / "a.png"), np.zeros((100, 100, 3), np.uint8))
    annotations = [
        {
            "id": i + 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [10 + 20 * i, 10, 15, 15],
            "area": 225,
            "iscrowd": 0,
            "ignore": flag,
        }
        for i, flag in enumerate(ignore_flags)
    ]
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "thing"}],
    }
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(coco))
    return path


def _detections(boxes):
    array = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=np.float32)
    return [(array, np.linspace(0.9, 0.5, len(boxes)), np.zeros(len(boxes), np.int64))]


@pytest.mark.parametrize("honour", [True, False])
def test_ignored_instances_neither_reward_nor_penalize(tmp_path, honour):
    path = _tiny_coco(tmp_path, [False, False, True])
    data = load_detection_set(path)
    found_all = evaluate(data, _detections([[10, 10, 15, 15], [30, 10, 15, 15], [50, 10, 15, 15]]),
                         honour_ignore=honour)  # fmt: skip
    missed_ignored = evaluate(
        data, _detections([[10, 10, 15, 15], [30, 10, 15, 15]]), honour_ignore=honour
    )
    assert found_all["AP"] == pytest.approx(1.0, abs=1e-6)
    if honour:  # BOP: missing an ignored instance is not a miss
        assert missed_ignored["AP"] == pytest.approx(1.0, abs=1e-6)
    else:  # stock pycocotools: it is an ordinary miss (recall 2/3)
        assert missed_ignored["AP"] < 0.7


def test_targets_peak_at_box_centres_and_skip_ignored_regions():
    boxes = [np.array([[8.0, 8.0, 40.0, 24.0], [60.0, 60.0, 100.0, 100.0]], np.float32)]
    targets = make_targets(
        boxes, [np.array([1, 0])], [np.array([False, True])], num_classes=2, size=128
    )
    heat = targets["heat"][0]
    assert heat[1, 4, 6] == 1.0 and heat[1].max() == 1.0  # centre (24, 16) / 4
    assert heat[0].max() == 0.0  # the ignored instance is no positive...
    assert targets["weight"][0, 0, 15:25, 15:25].max() == 0.0  # ...and carries no loss
    assert targets["size"][0, :, 4, 6] == pytest.approx(np.log([8.0, 4.0]))
    assert targets["mask"].sum() == 1


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_augmented_boxes_follow_the_augmented_pixels(seed):
    size = 128
    image = np.zeros((1, 3, size, size), dtype=np.float32)
    box = np.array([[30.0, 40.0, 70.0, 60.0]], dtype=np.float32)
    image[:, :, 40:60, 30:70] = 1.0
    params = augment_params(1, np.random.default_rng(seed))
    params.update(brightness=np.ones(1), contrast=np.ones(1), gain=np.ones((1, 3)),
                  gray=np.zeros(1, bool), noise=np.zeros(1))  # fmt: skip
    params["zoom"] = np.clip(params["zoom"], 0.8, 1.2)
    params["shift"] = np.clip(params["shift"], -0.2, 0.2)
    out = augment_batch(torch.from_numpy(image), params)[0, 0].numpy()
    ys, xs = np.nonzero(out > 0.6)
    moved = augment_boxes(box, size, params["zoom"][0], params["shift"][0], params["flip"][0])[0]
    assert abs(xs.min() - moved[0]) <= 1.5 and abs(xs.max() + 1 - moved[2]) <= 1.5
    assert abs(ys.min() - moved[1]) <= 1.5 and abs(ys.max() + 1 - moved[3]) <= 1.5


def _mask_folder(tmp_path: Path) -> Path:
    root = tmp_path / "defects"
    (root / "Crack").mkdir(parents=True)
    (root / "Free").mkdir()
    image = np.full((60, 80), 120, np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[5:15, 5:25] = 255
    mask[30:50, 40:45] = 255
    cv2.imwrite(str(root / "Crack" / "a.jpg"), image)
    cv2.imwrite(str(root / "Crack" / "a.png"), mask)
    cv2.imwrite(str(root / "Free" / "b.jpg"), image)
    return root


def test_mask_folder_instances_are_connected_components(tmp_path):
    coco, paths = mask_folder_to_coco(_mask_folder(tmp_path))
    assert [c["name"] for c in coco["categories"]] == ["Crack"]
    assert len(coco["images"]) == 2 and len(paths) == 2
    boxes = sorted(a["bbox"] for a in coco["annotations"])
    assert boxes == [[5, 5, 20, 10], [40, 30, 5, 20]]
    assert sorted(a["area"] for a in coco["annotations"]) == [100, 200]
    data = load_detection_set(_mask_folder(tmp_path / "again"))
    assert [len(s.boxes) for s in data.samples] == [2, 0]


def test_mask_size_mismatch_is_an_error(tmp_path):
    root = _mask_folder(tmp_path)
    cv2.imwrite(str(root / "Crack" / "a.png"), np.zeros((10, 10), np.uint8))
    with pytest.raises(SimgenError, match="differs from its image"):
        mask_folder_to_coco(root)


def test_bad_gap_input(easy, tmp_path):
    other = tmp_path / "other.json"
    coco = json.loads((easy / "test" / "annotations.json").read_text())
    coco["categories"] = [{"id": c["id"], "name": "x" + c["name"]} for c in coco["categories"]]
    other.write_text(json.dumps(coco))
    (tmp_path / "images").symlink_to(easy / "test" / "images")
    with pytest.raises(SimgenError, match="no category"):
        run_gap(easy / "train", other, tmp_path / "o1", steps=2)
    empty = tmp_path / "empty.json"
    empty.write_text(
        json.dumps({"images": [], "annotations": [], "categories": coco["categories"]})
    )
    with pytest.raises(SimgenError, match="no images"):
        load_detection_set(empty)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SimgenError, match="invalid JSON"):
        load_detection_set(broken)
    missing = tmp_path / "missing" / "annotations.json"
    missing.parent.mkdir()
    coco["images"][0]["file_name"] = "nowhere.png"
    missing.write_text(json.dumps(coco))
    with pytest.raises(SimgenError, match="image file missing"):
        load_detection_set(missing)
    with pytest.raises(SimgenError, match=r"--rows: unknown kind 'realish'"):
        run_gap(easy / "train", easy / "test", tmp_path / "o1", steps=2, kinds=["realish"])
    with pytest.raises(SimgenError, match=r"--mix: expected a share between 0 and 1, got 1.0"):
        run_gap(easy / "train", easy / "test", tmp_path / "o1", steps=2, mix=1.0)
    with pytest.raises(SimgenError, match=r"--real-counts: 5: counts above 0 need real training"):
        run_gap(easy / "train", easy / "test", tmp_path / "o1", steps=2, real_counts="0,5")
    with pytest.raises(SimgenError, match=r"k = 65 is larger than the real training set \(64"):
        run_gap(
            easy / "train", easy / "test", tmp_path / "o1", steps=2, real_counts="0,65",
            real_train=easy / "train",
        )  # fmt: skip
    (tmp_path / "no_images").mkdir()
    with pytest.raises(SimgenError, match="no images in the folder"):
        run_gap(
            easy / "train", easy / "test", tmp_path / "o1", steps=2,
            real_unlabeled=tmp_path / "no_images",
        )  # fmt: skip
    assert not (tmp_path / "o1").exists()


def test_rows_selects_what_is_trained(easy, tmp_path):
    result = run_gap(
        easy / "train",
        easy / "test",
        tmp_path / "out",
        real_train=easy / "train",
        backbone="scratch",
        real_counts="3",
        seeds=1,
        steps=4,
        size=64,
        kinds=["synthetic->real", "real"],
        mix=0.25,
    )
    assert [row["train"] for row in result["rows"]] == ["real", "synthetic→real"]
    assert result["settings"]["synthetic_share"] == 0.25
    assert result["training"]["synthetic→real k=3 seed=0"]["steps"] == 4


def test_lite0_learns_far_above_chance(easy, tmp_path):
    result = run_gap(
        easy / "train", easy / "test", tmp_path / "out", steps=150, size=128, seeds=1, copies=2
    )
    (row,) = result["rows"]
    assert row["backbone"] == "lite0" and row["train"] == "synthetic"
    assert row["AP50"] > 0.5, row
    assert result["settings"]["cached_copies"] == {"test": 1, "synthetic": 2}


def test_label_efficiency_curve_and_gap_json(easy, tmp_path):
    from simgen.gap.curve import KINDS

    out = tmp_path / "out"
    result = run_gap(
        easy / "train", easy / "test", out, real_train=easy / "train", real_counts="0,2,4",
        seeds=2, steps=6, size=64, copies=1, real_copies=2,
    )  # fmt: skip
    rows = result["rows"]
    assert len(rows) == 2 * (1 + 2 * len(KINDS))
    fields = {"train", "AP", "AP50", "AP75", "per_class", "per_class_AP50", "real_images",
              "seed", "backbone"}  # fmt: skip
    assert all(fields <= set(row) for row in rows)
    assert {row["seed"] for row in rows} == {0, 1}
    pairs = [(row["train"], row["real_images"]) for row in result["curve"]]
    assert pairs == [("synthetic", 0)] + [(kind, k) for k in (2, 4) for kind in KINDS]
    for row in result["curve"]:
        assert row["seeds"] == 2 and row["backbone"] == "lite0"
        assert {"AP_std", "AP50_std", "AP75_std", "per_class_AP50_std"} <= set(row)
    assert isinstance(result["summary"], str) and result["summary"].endswith(".")
    written = json.loads((out / "gap.json").read_text())
    assert written["summary"] == result["summary"] and len(written["rows"]) == len(rows)
    assert written["settings"]["real_counts"] == [0, 2, 4]
    image = cv2.imread(str(out / "label_efficiency.png"))
    assert image is not None and image.std() > 10


@pytest.mark.parametrize("case", ["empty_test_folder", "k_too_large", "no_shared_category"])
def test_bad_gap_command_input_is_one_line_and_writes_nothing(easy, tmp_path, capsys, case):
    from simgen.cli import main

    test = easy / "test"
    extra = ["--real-train", str(easy / "train")]
    if case == "empty_test_folder":
        test = tmp_path / "empty"
        test.mkdir()
    elif case == "k_too_large":
        extra += ["--real-counts", "0,100"]
    else:
        coco = json.loads((easy / "test" / "annotations.json").read_text())
        coco["categories"] = [{"id": c["id"], "name": "x" + c["name"]} for c in coco["categories"]]
        test = tmp_path / "other.json"
        test.write_text(json.dumps(coco))
    out = tmp_path / "out"
    argv = ["gap", "--train", str(easy / "train"), "--test", str(test), "--out", str(out)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simgen: error: "), err
    assert not out.exists()


@pytest.mark.parametrize("backbone", ["lite0", "scratch"])
def test_val_set_is_scored_like_the_test_set(easy, tmp_path, backbone):
    """--val scores every model on a second set: the test set given as val scores the same."""
    result = run_gap(
        easy / "train", easy / "test", tmp_path / "out", val=easy / "test", backbone=backbone,
        steps=4, size=64, seeds=2, copies=1,
    )  # fmt: skip
    assert len(result["rows"]) == 2
    for row in [*result["rows"], *result["curve"]]:
        for metric in ("AP", "AP50", "AP75"):
            assert row[f"val_{metric}"] == row[metric]
    assert result["curve"][0]["val_AP_std"] == result["curve"][0]["AP_std"]
    assert result["settings"]["data"]["val"] == str(easy / "test")
    without = run_gap(
        easy / "train", easy / "test", tmp_path / "out2", backbone=backbone,
        steps=4, size=64, seeds=2, copies=1,
    )  # fmt: skip
    assert [r["AP"] for r in without["rows"]] == [r["AP"] for r in result["rows"]]
    if backbone == "lite0":  # the cached judge, whose cache seeds must not depend on --val
        assert any(r["AP"] > 0 for r in result["rows"]), "too few steps to compare anything"
