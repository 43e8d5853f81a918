"""The gap check's training runs: detectors trained on the easy task score far above an untrained
model; short runs give the rows, curve and val scores asked for. Slow: training on a CPU."""

from __future__ import annotations

import json

import cv2
import pytest

torch = pytest.importorskip("torch")

from simgen.gap.augment import AugmentConfig  # noqa: E402
from simgen.gap.data import load_detection_set, prepare  # noqa: E402
from simgen.gap.evaluate import evaluate  # noqa: E402
from simgen.gap.model import CenterNet  # noqa: E402
from simgen.gap.report import detections_name  # noqa: E402
from simgen.gap.run import run_gap  # noqa: E402
from simgen.gap.train import predict  # noqa: E402

pytestmark = pytest.mark.slow


def test_quick_mode_learns_far_above_an_untrained_model(gap_sets, tmp_path):
    test = load_detection_set(gap_sets / "test")
    untrained = CenterNet(len(test.categories))
    baseline = evaluate(test, predict(untrained, prepare(test, 128)))
    # A step budget, not a time budget: the same training however busy the machine is.
    result = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out", backbone="scratch", steps=300,
        size=128, seeds=1,
    )  # fmt: skip
    assert result["training"]["synthetic k=0 seed=0"]["steps"] == 300
    (row,) = result["rows"]
    assert row["train"] == "synthetic" and row["backbone"] == "scratch"
    assert row["AP50"] > 0.5 and row["AP50"] > baseline["AP50"] + 0.4, (row, baseline)
    written = json.loads((tmp_path / "out" / "gap.json").read_text())
    assert written["rows"][0]["AP"] == pytest.approx(row["AP"])
    assert set(written["rows"][0]["per_class"]) == {"box", "ball", "cone"}
    per_class_50 = written["rows"][0]["per_class_AP50"]
    assert set(per_class_50) == {"box", "ball", "cone"}
    assert max(per_class_50.values()) >= row["AP50"] >= min(per_class_50.values())
    assert "BOP" in written["conventions"]["ignore"] and written["minutes"] > 0
    for picture in ("per_class_ap.png", "pr_curves.png", "predictions.png", "label_efficiency.png"):
        image = cv2.imread(str(tmp_path / "out" / picture))
        assert image is not None and image.shape[0] > 100 and image.std() > 10
    found = json.loads((tmp_path / "out" / "detections" / "test" / "synthetic_k0_seed0.json")
                       .read_text())  # fmt: skip
    assert {d["image_id"] for d in found} <= {s.image_id for s in test.samples} and found


def test_lite0_learns_far_above_chance(gap_sets, tmp_path):
    result = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out", steps=150, size=128, seeds=1,
        copies=2,
    )  # fmt: skip
    (row,) = result["rows"]
    assert row["backbone"] == "lite0" and row["train"] == "synthetic"
    assert row["AP50"] > 0.5, row
    assert result["settings"]["cached_copies"] == {"test": 1, "synthetic": 2}
    assert result["settings"]["synthetic_passes"] == 150 * 16 / (64 * 2)
    assert result["settings"]["head"] == {"channels": 64, "blocks": 1}


@pytest.mark.parametrize(("steps", "noted"), [(2, True), (4, False)])
def test_a_budget_under_one_pass_of_the_synthetic_set_is_noted(gap_sets, tmp_path, steps, noted):
    said = []
    result = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out", backbone="scratch", steps=steps,
        size=64, seeds=1, log=said.append,
    )  # fmt: skip
    assert result["settings"]["synthetic_passes"] == steps * 16 / 64
    assert any("passes" in line and "--steps" in line for line in said) == noted


def test_rows_selects_what_is_trained(gap_sets, tmp_path):
    result = run_gap(
        gap_sets / "train",
        gap_sets / "test",
        tmp_path / "out",
        real_train=gap_sets / "train",
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


def test_label_efficiency_curve_and_gap_json(gap_sets, tmp_path):
    from simgen.gap.curve import KINDS

    out = tmp_path / "out"
    result = run_gap(
        gap_sets / "train", gap_sets / "test", out, real_train=gap_sets / "train",
        real_counts="0,2,4", seeds=2, steps=6, size=64, copies=1, real_copies=2,
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


@pytest.mark.parametrize("backbone", ["lite0", "scratch"])
def test_val_set_is_scored_like_the_test_set(gap_sets, tmp_path, backbone):
    """--val scores every model on a second set: the test set given as val scores the same."""
    result = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out", val=gap_sets / "test",
        backbone=backbone, steps=4, size=64, seeds=2, copies=1,
    )  # fmt: skip
    assert len(result["rows"]) == 2
    for row in [*result["rows"], *result["curve"]]:
        for metric in ("AP", "AP50", "AP75", "per_class_AP50"):
            assert row[f"val_{metric}"] == row[metric]
    assert result["curve"][0]["val_AP_std"] == result["curve"][0]["AP_std"]
    curve = result["curve"][0]
    assert curve["val_per_class_AP50_std"] == curve["per_class_AP50_std"]
    assert result["settings"]["data"]["val"] == str(gap_sets / "test")
    without = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out2", backbone=backbone,
        steps=4, size=64, seeds=2, copies=1,
    )  # fmt: skip
    assert [r["AP"] for r in without["rows"]] == [r["AP"] for r in result["rows"]]
    for row in result["rows"]:  # each model's detections on both sets, the same set: alike
        name = detections_name(row["train"], row["real_images"], row["seed"])
        folder = tmp_path / "out" / "detections"
        assert (folder / "val" / name).read_bytes() == (folder / "test" / name).read_bytes()
    assert not (tmp_path / "out2" / "detections" / "val").exists()
    if backbone == "lite0":  # the cached judge, whose cache seeds must not depend on --val
        assert any(r["AP"] > 0 for r in result["rows"]), "too few steps to compare anything"
    scaled = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out3", val=gap_sets / "test",
        backbone=backbone, steps=4, size=64, seeds=1, copies=1, test_scales=(1.0, 0.5),
    )  # fmt: skip
    assert scaled["settings"]["test_scales"] == [1.0, 0.5]
    assert result["settings"]["test_scales"] == [1.0]
    for row in scaled["rows"]:  # both scored sets predicted at both scales, merged alike
        assert row["val_AP"] == row["AP"] and row["val_AP50"] == row["AP50"]
    mirrored = run_gap(
        gap_sets / "train", gap_sets / "test", tmp_path / "out4", val=gap_sets / "test",
        backbone=backbone, steps=4, size=64, seeds=1, copies=1, test_scales=(1.0, 0.5),
        test_flip=True, augment=AugmentConfig(flip=True),
    )  # fmt: skip
    assert mirrored["settings"]["test_flip"] and not scaled["settings"]["test_flip"]
    for row in mirrored["rows"]:  # mirrored passes of both scored sets, merged alike
        assert row["val_AP"] == row["AP"] and row["val_AP50"] == row["AP50"]


def test_lite0_learns_on_a_wide_input_through_the_command(gap_sets, tmp_path):
    """``--size WxH``: the square renders letterboxed at the left of a 2:1 input still train."""
    from simgen.cli import main

    out = tmp_path / "out"
    argv = ["gap", "--train", str(gap_sets / "train"), "--test", str(gap_sets / "test"),
            "--out", str(out), "--steps", "150", "--size", "256x128", "--seeds", "1",
            "--copies", "2"]  # fmt: skip
    assert main(argv) == 0
    written = json.loads((out / "gap.json").read_text())
    assert written["settings"]["input_size"] == "256x128"
    (row,) = written["rows"]
    assert row["AP50"] > 0.5, row


def test_adabn_in_the_backbone_through_the_command(gap_sets, tmp_path):
    """``--adabn-backbone`` implies ``--adabn`` (the real pool's images, without labels) and
    is recorded; the models still learn the easy task."""
    from simgen.cli import main

    out = tmp_path / "out"
    argv = ["gap", "--train", str(gap_sets / "train"), "--test", str(gap_sets / "test"),
            "--real-train", str(gap_sets / "test"), "--real-counts", "0", "--out", str(out),
            "--steps", "150", "--size", "128", "--seeds", "1", "--copies", "2",
            "--adabn-backbone"]  # fmt: skip
    assert main(argv) == 0
    written = json.loads((out / "gap.json").read_text())
    adabn = written["settings"]["adabn"]
    assert adabn["backbone"] is True and adabn["images"] == 16 and adabn["layers"] > 0
    # counts 0 only: the real pool is cached as the unlabeled set alone, without its 16 copies
    assert written["settings"]["cached_copies"] == {"test": 1, "unlabeled": 1, "synthetic": 2}
    (row,) = written["rows"]
    assert row["AP50"] > 0.5, row


def test_self_training_through_the_command(gap_sets, tmp_path):
    """``--self-train``: the synthetic row trains on, with its own confident detections on the
    unlabeled images as labels; the steps and pseudo-label counts are recorded."""
    from simgen.cli import main

    out = tmp_path / "out"
    argv = ["gap", "--train", str(gap_sets / "train"), "--test", str(gap_sets / "test"),
            "--real-train", str(gap_sets / "test"), "--real-counts", "0", "--out", str(out),
            "--steps", "150", "--size", "128", "--seeds", "1", "--copies", "2",
            "--self-train", "0.3"]  # fmt: skip
    assert main(argv) == 0
    written = json.loads((out / "gap.json").read_text())
    assert written["settings"]["self_train"]["score"] == 0.3
    (boxes,) = written["settings"]["self_train"]["pseudo_boxes"].values()
    assert boxes > 0
    assert written["settings"]["adabn"] is None
    assert written["training"]["synthetic k=0 seed=0"]["steps"] == 150 + 75
    (row,) = written["rows"]
    assert row["AP50"] > 0.5, row
