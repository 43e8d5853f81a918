"""YOLO, YOLO-seg, BOP and COCO-polygon outputs round-trip against the COCO file."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils

from simgen.config import load_config
from simgen.errors import SimgenError
from simgen.formats import WRITERS, WriterOptions, parse_formats
from simgen.formats.coco import CocoWriter
from simgen.formats.polygons import decode_rle, join_polygons, mask_polygons
from simgen.produce.runner import load_records, render_dataset
from simgen.scene import SceneSample
from tests.helpers import SMALL

NUM = 8


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("formats")
    config = load_config(None, [f"num_images={NUM}", "seed=4", "output.depth=true", *SMALL])
    summary = render_dataset(config, out, formats=["yolo,yolo-seg", "bop"])
    assert summary.formats == ["coco", "yolo", "yolo-seg", "bop"]
    return out


@pytest.fixture(scope="module")
def coco(rendered) -> dict:
    return json.loads((rendered / "annotations.json").read_text())


def _by_image(coco: dict) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        grouped[ann["image_id"]].append(ann)
    return grouped


def _fill(polygons: list[np.ndarray], height: int, width: int, scale: int = 8) -> np.ndarray:
    """Area-sample polygons (pixel-corner coordinates) at ``scale`` x ``scale`` sub-pixels;
    a pixel counts when most of its sub-pixels are inside."""
    canvas = np.zeros((height * scale, width * scale), dtype=np.uint8)
    for polygon in polygons:
        points = np.round(polygon * scale - 0.5).astype(np.int32)
        cv2.fillPoly(canvas, [points], 1)
    blocks = canvas.reshape(height, scale, width, scale).mean(axis=(1, 3))
    return blocks >= 0.5


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_registry_and_format_parsing():
    assert {"coco", "yolo", "yolo-seg", "bop"} <= set(WRITERS)
    assert parse_formats(["yolo, bop", "yolo"]) == ["coco", "yolo", "bop"]
    assert parse_formats(None) == ["coco"]
    with pytest.raises(SimgenError, match="--format: unknown format 'voc'"):
        parse_formats(["voc"])


def test_yolo_detection_round_trip(rendered, coco):
    root = rendered / "yolo"
    data = yaml.safe_load((root / "data.yaml").read_text())
    names = [c["name"] for c in sorted(coco["categories"], key=lambda c: c["id"])]
    assert data["names"] == dict(enumerate(names))
    assert Path(data["path"]) == root.resolve()
    assert data["train"] == data["val"] == "images"
    grouped = _by_image(coco)
    for image in coco["images"]:
        stem = Path(image["file_name"]).stem
        assert (root / "images" / image["file_name"]).read_bytes() == (
            rendered / "images" / image["file_name"]
        ).read_bytes()
        lines = (root / "labels" / f"{stem}.txt").read_text().splitlines()
        anns = grouped[image["id"]]
        assert len(lines) == len(anns)
        w, h = image["width"], image["height"]
        for line, ann in zip(lines, anns, strict=True):
            cls, cx, cy, bw, bh = line.split()
            assert int(cls) == ann["category_id"] - 1
            box = [
                round((float(cx) - float(bw) / 2) * w),
                round((float(cy) - float(bh) / 2) * h),
                round(float(bw) * w),
                round(float(bh) * h),
            ]
            assert box == ann["bbox"]


def test_yolo_segmentation_round_trip(rendered, coco):
    root = rendered / "yolo-seg"
    assert yaml.safe_load((root / "data.yaml").read_text())["names"][0] == "duck"
    grouped = _by_image(coco)
    ious = []
    for image in coco["images"]:
        w, h = image["width"], image["height"]
        lines = (root / "labels" / f"{Path(image['file_name']).stem}.txt").read_text()
        for line, ann in zip(lines.splitlines(), grouped[image["id"]], strict=True):
            values = line.split()
            assert int(values[0]) == ann["category_id"] - 1
            polygon = np.array(values[1:], dtype=np.float64).reshape(-1, 2) * (w, h)
            mask = decode_rle(ann["segmentation"])
            ious.append((ann["area"], _iou(_fill([polygon], h, w), mask)))
    values = [iou for _, iou in ious]
    # Outlines follow the pixel edges; holes (a mug's handle) are not represented.
    assert min(values) > 0.8 and np.mean(values) > 0.97, sorted(ious, key=lambda x: x[1])[:5]


def test_bop_round_trip(rendered, coco):
    split = rendered / "bop" / "train_pbr" / "000000"
    scene_gt = json.loads((split / "scene_gt.json").read_text())
    gt_info = json.loads((split / "scene_gt_info.json").read_text())
    scene_camera = json.loads((split / "scene_camera.json").read_text())
    objects = {
        o["obj_id"]: o["category"]
        for o in json.loads((rendered / "bop" / "objects.json").read_text())
    }
    names = {c["id"]: c["name"] for c in coco["categories"]}
    records = load_records(rendered, NUM)
    grouped = _by_image(coco)
    checked = 0
    for image in coco["images"]:
        index = image["id"] - 1
        key = str(index)
        record = records[index]
        sample = SceneSample.from_dict(record["scene"])
        view = sample.views[record["view_index"]]
        camera = scene_camera[key]
        assert np.allclose(np.reshape(camera["cam_K"], (3, 3)), view.K)
        w2c = np.eye(4)
        w2c[:3, :3] = np.reshape(camera["cam_R_w2c"], (3, 3))
        w2c[:3, 3] = np.array(camera["cam_t_w2c"]) / 1000.0
        assert np.allclose(np.linalg.inv(w2c), view.pose, atol=1e-9)
        assert (split / "rgb" / f"{index:06d}.png").read_bytes() == (
            rendered / "images" / image["file_name"]
        ).read_bytes()
        assert (split / "depth" / f"{index:06d}.png").is_file()
        anns = grouped[image["id"]]
        assert len(scene_gt[key]) == len(gt_info[key]) == len(anns)
        objs = {o.instance_id: o for o in sample.objects}
        for gt_id, (gt, info, ann) in enumerate(
            zip(scene_gt[key], gt_info[key], anns, strict=True)
        ):
            assert objects[gt["obj_id"]] == names[ann["category_id"]]
            m2c = np.eye(4)
            m2c[:3, :3] = np.reshape(gt["cam_R_m2c"], (3, 3))
            m2c[:3, 3] = np.array(gt["cam_t_m2c"]) / 1000.0
            obj = objs[ann["instance_id"]]
            assert np.allclose(view.pose @ m2c, obj.pose, atol=1e-9)
            assert gt["obj_scale"] == pytest.approx(obj.scale)
            assert info["bbox_visib"] == ann["bbox"] and info["bbox_obj"] == ann["bbox_amodal"]
            assert info["px_count_visib"] == ann["area"]
            assert info["px_count_all"] == ann["area_amodal"]
            assert info["visib_fract"] == pytest.approx(ann["visib_fract"])
            stem = f"{index:06d}_{gt_id:06d}.png"
            visib = cv2.imread(str(split / "mask_visib" / stem), cv2.IMREAD_UNCHANGED) > 0
            full = cv2.imread(str(split / "mask" / stem), cv2.IMREAD_UNCHANGED) > 0
            assert np.array_equal(visib, decode_rle(ann["segmentation"]))
            assert int(full.sum()) == ann["area_amodal"] and not (visib & ~full).any()
            checked += 1
    assert checked == len(coco["annotations"]) > 0


def test_coco_polygons(rendered, coco, tmp_path):
    from simgen.config import load_config

    records = load_records(rendered, NUM)
    names = load_config(None, []).categories()
    CocoWriter(WriterOptions(coco_polygons=True)).finalize(tmp_path, records, names)
    poly = json.loads((tmp_path / "annotations.json").read_text())
    assert len(poly["annotations"]) == len(coco["annotations"])
    ious = []
    for rle_ann, poly_ann in zip(coco["annotations"], poly["annotations"], strict=True):
        assert poly_ann["bbox"] == rle_ann["bbox"] and poly_ann["area"] == rle_ann["area"]
        segmentation = poly_ann["segmentation"]
        assert isinstance(segmentation, list) and all(len(p) >= 6 for p in segmentation)
        h, w = rle_ann["segmentation"]["size"]
        mask = decode_rle(rle_ann["segmentation"])
        polys = [np.reshape(p, (-1, 2)) for p in segmentation]
        ious.append(_iou(_fill(polys, h, w), mask))
        # pycocotools reads them as polygons.
        decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w)))
        assert decoded.shape == (h, w) and decoded.any()
    assert ious and min(ious) > 0.8 and np.mean(ious) > 0.97


def test_polygons_of_small_and_split_masks():
    mask = np.zeros((10, 12), dtype=bool)
    mask[2, 3] = True  # a single pixel
    mask[5:8, 6:11] = True  # a 3x5 block
    parts = mask_polygons(mask)
    assert len(parts) == 2
    assert sorted(map(tuple, parts[0])) == [(6, 5), (6, 8), (11, 5), (11, 8)]  # pixel edges
    assert sorted(map(tuple, parts[1])) == [(3, 2), (3, 3), (4, 2), (4, 3)]  # its square
    joined = join_polygons(parts)
    assert np.array_equal(_fill([joined], 10, 12), mask)


def test_bop_writer_needs_the_catalog(tmp_path):
    from simgen.formats.bop import BopWriter

    with pytest.raises(SimgenError, match="catalog"):
        BopWriter(WriterOptions()).finalize(tmp_path, [], ["duck"])
