"""The gap check without training: evaluation follows BOP's ignore rule, targets and augmented
boxes, mask folders, bad input fails before anything is trained or written. Runs that train:
test_gap_e2e.py."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simgen.errors import SimgenError  # noqa: E402
from simgen.formats.mask_folder import mask_folder_to_coco  # noqa: E402
from simgen.gap.data import (  # noqa: E402
    augment_batch,
    augment_boxes,
    augment_params,
    input_size,
    letterbox,
    load_detection_set,
    make_targets,
    prepare,
    size_text,
)
from simgen.gap.evaluate import evaluate  # noqa: E402
from simgen.gap.run import run_gap  # noqa: E402


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


@pytest.mark.parametrize("category_id", [1, 7])
def test_written_detections_score_alike_with_stock_pycocotools(tmp_path, category_id):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from simgen.gap.report import detections_name, write_detections

    path = _tiny_coco(tmp_path, [False, False, False])
    coco = json.loads(path.read_text())
    coco["categories"][0]["id"] = category_id
    for ann in coco["annotations"]:
        ann["category_id"] = category_id
    path.write_text(json.dumps(coco))
    data = load_detection_set(path)
    # one hit, one loose box, one miss and a box without area (left out)
    found = _detections([[10, 10, 15, 15], [32, 12, 15, 15], [80, 80, 0, 5]])
    rows = [{"train": "synthetic→real", "real_images": 5, "seed": 2}]
    write_detections(tmp_path / "detections", data, rows, {"synthetic→real k=5 seed=2": found})
    name = detections_name("synthetic→real", 5, 2)
    assert name == "synthetic-to-real_k5_seed2.json"
    assert detections_name("synthetic+real", 25, 0) == "synthetic-plus-real_k25_seed0.json"
    written = json.loads((tmp_path / "detections" / name).read_text())
    assert [d["category_id"] for d in written] == [category_id] * 2
    assert [d["bbox"] for d in written] == [[10, 10, 15, 15], [32, 12, 15, 15]]
    gt = COCO(str(path))
    stock = COCOeval(gt, gt.loadRes(str(tmp_path / "detections" / name)), "bbox")
    stock.evaluate()
    stock.accumulate()
    stock.summarize()
    ours = evaluate(data, found, honour_ignore=False)
    assert stock.stats[0] == pytest.approx(ours["AP"], abs=1e-9)
    assert stock.stats[1] == pytest.approx(ours["AP50"], abs=1e-9)


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [("256", (256, 256)), ("1024x320", (320, 1024)), ("64X32", (32, 64)), (96, (96, 96)),
     ((32, 64), (32, 64))],
)  # fmt: skip
def test_input_size_is_height_width(text, expected):
    assert input_size(text) == expected
    assert input_size(size_text(expected)) == expected


@pytest.mark.parametrize("text", ["", "x", "64x", "1x2x3", "0", "64x-32", "big"])
def test_bad_input_size_names_the_option(text):
    with pytest.raises(SimgenError, match="--size"):
        input_size(text)


@pytest.mark.parametrize(
    ("shape", "size", "content", "scale"),
    [((375, 1242), (320, 1024), (309, 1024), 1024 / 1242),  # KITTI, width-bound
     ((375, 1242), 512, (155, 512), 512 / 1242),  # the same frame in a square
     ((480, 640), (320, 1024), (320, 427), 320 / 480)],  # a 4:3 photo, height-bound
)  # fmt: skip
def test_letterbox_keeps_the_aspect_and_pads_right_and_bottom(shape, size, content, scale):
    image = np.full((*shape, 3), 200, np.uint8)
    out, factor = letterbox(image, size)
    height, width = input_size(size)
    assert out.shape == (height, width, 3) and factor == pytest.approx(scale)
    assert (out[: content[0], : content[1]] == 200).all()
    assert (out[content[0] :] == 114).all() and (out[:, content[1] :] == 114).all()


@pytest.mark.parametrize("size", [(320, 1024), 512, (64, 64)])
def test_a_mirrored_prepare_mirrors_the_content_and_its_boxes(gap_sets, size):
    data = load_detection_set(gap_sets / "test")
    plain, mirrored = prepare(data, size), prepare(data, size, mirror=True)
    np.testing.assert_array_equal(mirrored.scales, plain.scales)
    for i, sample in enumerate(data.samples):
        width = min(mirrored.images.shape[2], round(sample.width * plain.scales[i]))
        content = plain.images[i, :, :width]
        # Mirroring before the letterbox or after it differs by the resampling only.
        diff = np.abs(mirrored.images[i, :, :width].astype(int) - content[:, ::-1].astype(int))
        assert diff.mean() < 2.0
        assert (mirrored.images[i, :, width:] == 114).all()
        expected = plain.boxes[i].copy()
        expected[:, [0, 2]] = sample.width * plain.scales[i] - plain.boxes[i][:, [2, 0]]
        np.testing.assert_allclose(mirrored.boxes[i], expected, rtol=0, atol=1e-4)


def test_wide_targets_have_wide_maps_and_peak_at_box_centres():
    boxes = [np.array([[200.0, 8.0, 232.0, 24.0]], np.float32)]
    targets = make_targets(boxes, [np.array([0])], [np.array([False])], 1, size=(64, 256))
    assert targets["heat"].shape == (1, 1, 16, 64)
    assert targets["heat"][0, 0, 4, 54] == 1.0 and targets["heat"].max() == 1.0
    assert targets["size"][0, :, 4, 54] == pytest.approx(np.log([8.0, 4.0]))


@pytest.mark.parametrize("shape", [(128, 128), (96, 192)])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_augmented_boxes_follow_the_augmented_pixels(seed, shape):
    size = shape if shape[0] != shape[1] else shape[0]
    image = np.zeros((1, 3, *shape), dtype=np.float32)
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


def test_bad_gap_input(gap_sets, tmp_path):
    other = tmp_path / "other.json"
    coco = json.loads((gap_sets / "test" / "annotations.json").read_text())
    coco["categories"] = [{"id": c["id"], "name": "x" + c["name"]} for c in coco["categories"]]
    other.write_text(json.dumps(coco))
    (tmp_path / "images").symlink_to(gap_sets / "test" / "images")
    with pytest.raises(SimgenError, match="no category"):
        run_gap(gap_sets / "train", other, tmp_path / "o1", steps=2)
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
        run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, kinds=["realish"])
    with pytest.raises(SimgenError, match=r"--mix: expected a share between 0 and 1, got 1.0"):
        run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, mix=1.0)
    with pytest.raises(SimgenError, match=r"--test-scales: the scales must include 1"):
        run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, test_scales=[0.5])
    with pytest.raises(SimgenError, match=r"--test-flip: mirrored test passes need .* flips"):
        run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, test_flip=True)
    with pytest.raises(SimgenError, match=r"--real-counts: 5: counts above 0 need real training"):
        run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, real_counts="0,5")
    with pytest.raises(SimgenError, match=r"k = 65 is larger than the real training set \(64"):
        run_gap(
            gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, real_counts="0,65",
            real_train=gap_sets / "train",
        )  # fmt: skip
    for wrong in ({"backbone": "scratch"}, {"finetune_stages": 1}):
        with pytest.raises(SimgenError, match=r"--adabn-backbone: .* needs the frozen lite0"):
            run_gap(
                gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2,
                real_train=gap_sets / "test", real_counts="0", adabn_backbone=True, **wrong,
            )  # fmt: skip
    for wrong, option in (({"head_channels": 128}, "channels"), ({"head_blocks": 2}, "blocks")):
        with pytest.raises(SimgenError, match=f"--head-{option}: a head's size is a lite0 setting"):
            run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2,
                    backbone="scratch", **wrong)  # fmt: skip
    for wrong, message in (
        ({"self_train": 1.5}, "expected a score between 0 and 1, got 1.5"),
        ({"self_train": 0.3, "backbone": "scratch"}, "self-training needs the frozen lite0"),
        ({"self_train": 0.3}, "self-training needs --real-unlabeled or --real-train"),
    ):
        with pytest.raises(SimgenError, match=f"--self-train: {message}"):
            run_gap(gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2, **wrong)
    (tmp_path / "no_images").mkdir()
    with pytest.raises(SimgenError, match="no images in the folder"):
        run_gap(
            gap_sets / "train", gap_sets / "test", tmp_path / "o1", steps=2,
            real_unlabeled=tmp_path / "no_images",
        )  # fmt: skip
    assert not (tmp_path / "o1").exists()


@pytest.mark.parametrize(
    "case",
    [
        "empty_test_folder",
        "k_too_large",
        "no_shared_category",
        "scales_without_1",
        "flip_untrained",
    ],
)
def test_bad_gap_command_input_is_one_line_and_writes_nothing(gap_sets, tmp_path, capsys, case):
    from simgen.cli import main

    test = gap_sets / "test"
    extra = ["--real-train", str(gap_sets / "train")]
    if case == "empty_test_folder":
        test = tmp_path / "empty"
        test.mkdir()
    elif case == "k_too_large":
        extra += ["--real-counts", "0,100"]
    elif case == "scales_without_1":
        extra += ["--test-scales", "0.5,0.7"]
    elif case == "flip_untrained":  # mirrored test passes for a detector that never saw one
        extra += ["--test-flip"]
    else:
        coco = json.loads((gap_sets / "test" / "annotations.json").read_text())
        coco["categories"] = [{"id": c["id"], "name": "x" + c["name"]} for c in coco["categories"]]
        test = tmp_path / "other.json"
        test.write_text(json.dumps(coco))
    out = tmp_path / "out"
    argv = ["gap", "--train", str(gap_sets / "train"), "--test", str(test), "--out", str(out)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simgen: error: "), err
    assert not out.exists()


@pytest.mark.parametrize(
    ("shape", "tile_width"), [((100, 300), 192), ((80, 80), 64), ((60, 600), 256)]
)
def test_prediction_sheet_tiles_follow_the_frames_aspect(tmp_path, shape, tile_width):
    from simgen.gap.data import DetectionSet, Sample
    from simgen.gap.report import prediction_sheet

    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), np.full((*shape, 3), 90, np.uint8))
    box = np.array([[10.0, 10.0, 50.0, 40.0]], np.float32)
    sample = Sample(path, 1, shape[1], shape[0], box, np.array([0]), np.array([False]))
    data = DetectionSet("frames", [sample], ["car"], {}, tmp_path)
    out = tmp_path / "sheet.png"
    prediction_sheet(out, data, [(box, np.array([0.9]), np.array([0]))], "real", tile=64)
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 2 * tile_width + 4  # truth | 4 px | predictions
    assert sheet.shape[0] == 28 + 64 + 4  # header, one tile row, its 4 px gap
