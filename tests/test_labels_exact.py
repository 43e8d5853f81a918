"""Every label of a generated dataset is exact and pycocotools reads it as intended."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from simgen.labels import mask_bbox


@pytest.fixture(scope="module")
def coco_dict(dataset):
    return json.loads((dataset / "annotations.json").read_text())


def test_layout(dataset, coco_dict):
    assert (dataset / "config.yaml").is_file()
    names = sorted(p.name for p in (dataset / "images").iterdir())
    assert names == [f"{i:06d}.png" for i in range(8)]
    assert [img["file_name"] for img in coco_dict["images"]] == names
    assert sorted(p.name for p in (dataset / "depth").iterdir()) == names
    assert not list(dataset.rglob("*.tmp-*"))


def test_every_instance_is_exact(coco_dict):
    images = {img["id"]: img for img in coco_dict["images"]}
    assert coco_dict["annotations"], "the dataset has no annotations"
    for ann in coco_dict["annotations"]:
        img = images[ann["image_id"]]
        rle = ann["segmentation"]
        assert rle["size"] == [img["height"], img["width"]]
        mask = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        assert mask.dtype == np.uint8 and mask.shape == (img["height"], img["width"])
        x0, y0, x1, y1 = mask_bbox(mask.astype(bool))
        assert ann["bbox"] == [x0, y0, x1 - x0, y1 - y0]
        assert ann["area"] == int(mask.sum()) > 0
        assert isinstance(ann["area"], int)
        # RLE round trip: re-encoding the decoded mask gives the same counts.
        again = mask_utils.encode(np.asfortranarray(mask))
        assert again["counts"].decode() == rle["counts"]
        assert (
            float(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode()}))
            == (ann["area"])
        )
        # The amodal box contains the visible box; visib_fract is consistent.
        ax, ay, aw, ah = ann["bbox_amodal"]
        assert ax <= x0 and ay <= y0 and ax + aw >= x1 and ay + ah >= y1
        assert 0 < ax + aw <= img["width"] and 0 < ay + ah <= img["height"]
        assert ann["area_amodal"] >= ann["area"]
        assert ann["visib_fract"] == pytest.approx(ann["area"] / ann["area_amodal"])
        assert ann["ignore"] == (ann["visib_fract"] < 0.1)
        assert ann["iscrowd"] == 0


def test_ids_unique_and_categories_from_one(coco_dict):
    ann_ids = [a["id"] for a in coco_dict["annotations"]]
    img_ids = [i["id"] for i in coco_dict["images"]]
    assert ann_ids == list(range(1, len(ann_ids) + 1))
    assert img_ids == list(range(1, len(img_ids) + 1))
    cat_ids = [c["id"] for c in coco_dict["categories"]]
    assert cat_ids == list(range(1, len(cat_ids) + 1))
    assert {a["category_id"] for a in coco_dict["annotations"]} <= set(cat_ids)
    # At most one annotation per (image, instance): instance ids are unique per image.
    pairs = [(a["image_id"], a["instance_id"]) for a in coco_dict["annotations"]]
    assert len(pairs) == len(set(pairs))


def test_no_wall_clock_in_output(dataset, coco_dict):
    assert set(coco_dict["info"]) == {"description", "version", "seed", "num_images"}
    text = (dataset / "annotations.json").read_text() + (dataset / "config.yaml").read_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_cocoeval_ground_truth_as_predictions_scores_one(dataset, coco_dict, iou_type):
    gt = COCO(str(dataset / "annotations.json"))
    predictions = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "segmentation": a["segmentation"],
            "score": 1.0,
        }
        for a in coco_dict["annotations"]
    ]
    dt = gt.loadRes(predictions)
    evaluator = COCOeval(gt, dt, iou_type)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0, abs=1e-9)  # AP@[.5:.95]
    assert evaluator.stats[1] == pytest.approx(1.0, abs=1e-9)  # AP50


def test_depth_png_is_millimetres(dataset):
    import cv2

    depth = cv2.imread(str(dataset / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.shape == (480, 640)
    valid = depth[depth > 0]
    # Cameras sit 0.55–1.0 m from the table centre; the table fills most of the view.
    assert valid.size > 0.5 * depth.size
    assert 100 < np.median(valid) < 3000


def test_records_hold_the_sampled_scene(dataset, coco_dict):
    record = json.loads((dataset / "records" / "000005.json").read_text())
    assert record["image"]["scene_index"] == 1 and record["view_index"] == 1
    assert record["scene"]["settled"] is True
    assert len(record["scene"]["views"]) == 4
    ours = [a for a in coco_dict["annotations"] if a["image_id"] == 6]
    assert [a["instance_id"] for a in ours] == [a["instance_id"] for a in record["annotations"]]
