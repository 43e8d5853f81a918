"""simgen validate: a clean dataset passes; each deliberately broken file is reported.

The broken files are built from the session dataset's valid COCO, one fault per case: the
faults reported against BlenderProc's COCO writer (area written as a list, category 0, empty
segmentations, zero-area boxes, skipped or duplicated ids, iscrowd misuse) and the other
checks ``simgen validate`` makes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from simgen.cli import main
from simgen.inspect.dataset import annotation_mask
from simgen.inspect.validate import validate_coco


@pytest.fixture(scope="module")
def coco(dataset: Path) -> dict[str, Any]:
    return json.loads((dataset / "annotations.json").read_text())


def _tight_box(mask: np.ndarray) -> list[int]:
    """COCO [x, y, w, h] of a bool mask, recomputed with numpy."""
    rows, cols = np.nonzero(mask)
    return [
        int(cols.min()),
        int(rows.min()),
        int(cols.max() - cols.min() + 1),
        int(rows.max() - rows.min() + 1),
    ]


def _mask(coco: dict[str, Any], ann: dict[str, Any]) -> np.ndarray:
    """(H, W) bool mask of a simgen annotation (compressed RLE)."""
    rle = ann["segmentation"]
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}) > 0


def _polygon_annotation(coco: dict[str, Any], ann: dict[str, Any]) -> dict[str, Any]:
    """The annotation with polygon segmentation (OpenCV contours of its mask, as LabelMe-style
    tools write them), bbox from the vertex extents and area from the shoelace formula."""
    mask = _mask(coco, ann).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    area = 0.0
    for contour in contours:
        if len(contour) < 3:
            continue
        # pixel centres (c, r) -> polygon vertices around the pixel: shift by half a pixel
        points = contour.reshape(-1, 2).astype(np.float64) + 0.5
        polygons.append(points.ravel().tolist())
        x, y = points[:, 0], points[:, 1]
        area += 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    flat = np.concatenate([np.reshape(p, (-1, 2)) for p in polygons])
    x0, y0 = flat.min(axis=0)
    x1, y1 = flat.max(axis=0)
    return {
        **{k: v for k, v in ann.items() if k not in ("bbox_amodal", "area_amodal")},
        "segmentation": polygons,
        "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
        "area": area,
        "visib_fract": 1.0,
    }


def _uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE: column-major run lengths, the first run counting zeros."""
    flat = mask.ravel(order="F")
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.r_[0, starts, flat.size]).tolist()
    if flat[0]:
        runs = [0, *runs]
    return {"size": list(mask.shape), "counts": [int(r) for r in runs]}


Mutation = Callable[[dict[str, Any]], None]


def _ann(coco: dict[str, Any], k: int = 0) -> dict[str, Any]:
    return coco["annotations"][k]


def _area_list(c):
    _ann(c)["area"] = [_ann(c)["area"]]


def _category_zero(c):
    _ann(c)["category_id"] = 0


def _category_zero_defined(c):
    c["categories"][0]["id"] = 0
    for ann in c["annotations"]:
        if ann["category_id"] == 1:
            ann["category_id"] = 0


def _empty_list(c):
    _ann(c)["segmentation"] = []


def _empty_polygon(c):
    _ann(c)["segmentation"] = [[]]


def _empty_rle(c):
    rle = mask_utils.encode(np.zeros(_ann(c)["segmentation"]["size"], dtype=np.uint8, order="F"))
    _ann(c)["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}


def _zero_area_box(c):
    _ann(c)["bbox"][2] = 0
    _ann(c)["area"] = 0


def _skipped_ids(c):
    for ann in c["annotations"][3:]:
        ann["id"] += 2


def _duplicated_ids(c):
    _ann(c, 1)["id"] = _ann(c, 0)["id"]


def _crowd_on_instance(c):
    _ann(c)["iscrowd"] = 1


def _crowd_value(c):
    _ann(c)["iscrowd"] = 2


def _crowd_missing(c):
    del _ann(c)["iscrowd"]


def _crowd_polygon(c):
    c["annotations"][0] = {**_polygon_annotation(c, _ann(c)), "iscrowd": 1}


def _bbox_shifted(c):
    _ann(c)["bbox"][0] += 1


def _area_off(c):
    _ann(c)["area"] += 1


def _bbox_outside(c):
    _ann(c)["bbox"][0] = c["images"][0]["width"] - 2


def _unknown_category(c):
    _ann(c)["category_id"] = 99


def _unknown_image(c):
    _ann(c)["image_id"] = 999


def _image_size(c):
    c["images"][0]["width"] += 2


def _image_missing(c):
    c["images"][1]["file_name"] = "missing.png"


def _amodal_mask_empty(c):
    ann = _ann(c)
    height, width = ann["segmentation_amodal"]["size"]
    empty = mask_utils.encode(np.zeros((height, width), dtype=np.uint8, order="F"))
    ann["segmentation_amodal"] = {"size": [height, width], "counts": empty["counts"].decode()}


def _rle_size(c):
    rle = _ann(c)["segmentation"]
    rle["size"] = [rle["size"][0] + 1, rle["size"][1]]


def _polygon_box_off(c):
    c["annotations"][0] = _polygon_annotation(c, _ann(c))
    _ann(c)["bbox"][1] -= 3


def _no_annotations_key(c):
    del c["annotations"]


def _image_id_missing(c):
    del _ann(c)["image_id"]


def _visib_wrong(c):
    _ann(c)["visib_fract"] = 0.5 if _ann(c)["visib_fract"] != 0.5 else 0.25


def _no_segmentation(c):
    del _ann(c)["segmentation"]


# name: (mutation, [(severity, code, subject ref or None, message part)], exit status)
CASES: dict[str, tuple[Mutation, list[tuple[str, str, str | None, str]], int]] = {
    "area_list": (_area_list, [("error", "area-type", "annotation 1", "area is list")], 1),
    "category_zero": (
        _category_zero,
        [("error", "category-zero", "annotation 1", "category_id 0")],
        1,
    ),
    "category_zero_defined": (
        _category_zero_defined,
        [("error", "category-zero", "category 0", "id 0"), ("error", "category-zero", None, "")],
        1,
    ),
    "empty_segmentation_list": (
        _empty_list,
        [("error", "segmentation-empty", "annotation 1", "segmentation is empty")],
        1,
    ),
    "empty_segmentation_polygon": (
        _empty_polygon,
        [("error", "segmentation-empty", "annotation 1", "segmentation is empty")],
        1,
    ),
    "empty_segmentation_rle": (
        _empty_rle,
        [("error", "segmentation-empty", "annotation 1", "covers no pixel")],
        1,
    ),
    "zero_area_box": (
        _zero_area_box,
        [
            ("error", "bbox-empty", "annotation 1", "zero width/height"),
            ("error", "area-nonpositive", "annotation 1", "area 0 is not positive"),
        ],
        1,
    ),
    "skipped_ids": (_skipped_ids, [("warning", "skipped-id", "annotation 6", "ids 4-5")], 0),
    "duplicated_ids": (
        _duplicated_ids,
        [
            ("error", "duplicate-id", "annotation 1", "used by 2 annotations"),
            ("warning", "skipped-id", "annotation 3", "ids 2 unused"),
        ],
        1,
    ),
    "iscrowd_on_instance": (
        _crowd_on_instance,
        [("warning", "iscrowd-misuse", "annotation 1", "iscrowd=1 with a compressed RLE")],
        0,
    ),
    "iscrowd_not_binary": (
        _crowd_value,
        [("error", "iscrowd", "annotation 1", "iscrowd 2 is not 0 or 1")],
        1,
    ),
    "iscrowd_missing": (_crowd_missing, [("error", "iscrowd", "annotation 1", "missing")], 1),
    "iscrowd_polygon": (
        _crowd_polygon,
        [("warning", "iscrowd-misuse", "annotation 1", "iscrowd=1 with polygons")],
        0,
    ),
    "bbox_not_tight": (
        _bbox_shifted,
        [("error", "bbox-mismatch", "annotation 1", "!= tight box of mask")],
        1,
    ),
    "area_not_pixel_count": (
        _area_off,
        [("error", "area-mismatch", "annotation 1", "!= mask pixel count")],
        1,
    ),
    "bbox_outside_image": (
        _bbox_outside,
        [("error", "bbox-outside", "annotation 1", "is not inside the")],
        1,
    ),
    "unknown_category": (
        _unknown_category,
        [("error", "unknown-category", "annotation 1", "category_id 99")],
        1,
    ),
    "unknown_image": (
        _unknown_image,
        [("error", "unknown-image", "annotation 1", "image_id 999")],
        1,
    ),
    "image_size_wrong": (
        _image_size,
        [
            ("error", "image-size", "image 1", "stated"),
            ("error", "segmentation-size", None, "!= image [height, width]"),
        ],
        1,
    ),
    "image_file_missing": (
        _image_missing,
        [("error", "image-missing", "image 2", "file not found")],
        1,
    ),
    "amodal_mask_empty": (
        _amodal_mask_empty,
        [
            ("error", "amodal", "annotation 1", "segmentation_amodal has 0 pixels"),
            ("error", "amodal", "annotation 1", "of the visible mask are outside"),
        ],
        1,
    ),
    "rle_size_wrong": (
        _rle_size,
        [("error", "segmentation-size", "annotation 1", "RLE size")],
        1,
    ),
    "polygon_box_off": (
        _polygon_box_off,
        [("error", "bbox-mismatch", "annotation 1", "polygon: edges off by")],
        1,
    ),
    "no_annotations_key": (
        _no_annotations_key,
        [("error", "schema", "file", "missing top-level 'annotations'")],
        1,
    ),
    "image_id_missing": (
        _image_id_missing,
        [
            ("error", "pycocotools", "file", "pycocotools cannot index it"),
            ("error", "schema", "annotation 1", "image_id is missing"),
        ],
        1,
    ),
    "visib_fract_wrong": (
        _visib_wrong,
        [("error", "visib-fract", "annotation 1", "!= area / area_amodal")],
        1,
    ),
    "no_segmentation": (
        _no_segmentation,
        [("warning", "segmentation-missing", "annotation 1", "boxes only")],
        0,
    ),
}


def validate_status(args: list[str]) -> int:
    """Exit status of ``simgen validate ARGS`` (1 arrives as SystemExit, see inspect/cli.py)."""
    try:
        return main(["validate", *args])
    except SystemExit as exc:
        return int(exc.code)


def _run(tmp_path: Path, data: dict[str, Any], images: Path, capsys, *extra: str):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    status = validate_status([str(path), "--images", str(images), *extra])
    return status, capsys.readouterr()


def test_clean_dataset_passes(dataset, coco, capsys):
    status = validate_status([str(dataset)])
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 0
    assert len(out) == 1, out  # the summary line only
    assert "0 errors, 0 warnings" in out[0]
    assert f"{len(coco['annotations'])} masks and {len(coco['images'])} image files" in out[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fault_is_reported(tmp_path, dataset, coco, capsys, case):
    mutate, expected, status_expected = CASES[case]
    broken = copy.deepcopy(coco)
    mutate(broken)
    status, captured = _run(tmp_path, broken, dataset / "images", capsys)
    lines = captured.out.strip().splitlines()
    assert status == status_expected, captured.out
    for severity, _code, ref, part in expected:
        prefix = f"{severity}: {ref}: " if ref else f"{severity}: "
        assert any(line.startswith(prefix) and part in line for line in lines[:-1]), lines
    report = validate_coco(broken, images_dir=dataset / "images")
    codes = {(p.severity, p.code) for p in report.problems}
    assert {(severity, code) for severity, code, _, _ in expected} <= codes
    # nothing is reported about other entries except the fault's own kinds of problem
    faulty = {ref.split()[-1] for _, _, ref, _ in expected if ref and ref != "file"}
    expected_codes = {code for _, code, _, _ in expected}
    others = [
        p
        for p in report.problems
        if p.ref not in faulty and p.subject != "file" and p.code not in expected_codes
    ]
    assert not others, [str(p) for p in others]


def test_mismatch_messages_give_recomputed_values(tmp_path, dataset, coco, capsys):
    broken = copy.deepcopy(coco)
    ann = broken["annotations"][4]
    ann["bbox"][2] += 3
    ann["area"] -= 7
    status, captured = _run(tmp_path, broken, dataset / "images", capsys)
    assert status == 1
    box = _tight_box(_mask(coco, coco["annotations"][4]))
    pixels = int(_mask(coco, coco["annotations"][4]).sum())
    fmt = "[" + ", ".join(str(v) for v in ann["bbox"]) + "]"
    tight = "[" + ", ".join(str(v) for v in box) + "]"
    lines = captured.out.splitlines()
    assert f"error: annotation {ann['id']}: bbox {fmt} != tight box of mask {tight}" in lines
    assert (
        f"error: annotation {ann['id']}: area {ann['area']} != mask pixel count {pixels}" in lines
    )


def test_json_output(tmp_path, dataset, coco, capsys):
    broken = copy.deepcopy(coco)
    _area_list(broken)
    _skipped_ids(broken)
    status, captured = _run(tmp_path, broken, dataset / "images", capsys, "--json")
    report = json.loads(captured.out)
    assert status == 1
    assert report["errors"] == 1 and report["warnings"] == 1
    assert {(p["code"], p["ref"]) for p in report["problems"]} == {
        ("area-type", "1"),
        ("skipped-id", "6"),
    }
    assert report["masks_checked"] == len(coco["annotations"])


def test_other_coco_conventions_are_valid(tmp_path, dataset, coco, capsys):
    """Polygons (float boxes, polygon areas), uncompressed-RLE crowd regions, no extras."""
    other = copy.deepcopy(coco)
    anns = []
    for k, ann in enumerate(other["annotations"]):
        if k % 3 == 0:
            new = _polygon_annotation(coco, ann)
        elif k % 3 == 1:
            mask = _mask(coco, ann)
            new = {**ann, "segmentation": _uncompressed_rle(mask), "iscrowd": 1}
        else:
            new = dict(ann)
        for key in ("bbox_amodal", "area_amodal", "visib_fract", "ignore", "instance_id"):
            new.pop(key, None)
        anns.append(new)
    other["annotations"] = anns
    status, captured = _run(tmp_path, other, dataset / "images", capsys)
    assert status == 0, captured.out
    assert captured.out.strip().splitlines()[-1].count("0 errors, 0 warnings") == 1
    # the uncompressed RLE decodes to the original mask
    crowd = anns[1]
    image = next(i for i in coco["images"] if i["id"] == crowd["image_id"])
    decoded = annotation_mask(crowd, image["height"], image["width"])
    assert np.array_equal(decoded, _mask(coco, coco["annotations"][1]))


def test_float_boxes_warned_only_in_simgen_datasets(tmp_path, dataset, coco):
    data = copy.deepcopy(coco)
    data["annotations"][2]["bbox"] = [float(v) + 0.25 for v in data["annotations"][2]["bbox"]]
    simgen_report = validate_coco(data, integer_boxes=True)
    other_report = validate_coco(data, integer_boxes=False)
    assert ("warning", "bbox-float") in {(p.severity, p.code) for p in simgen_report.problems}
    assert "bbox-float" not in {p.code for p in other_report.problems}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_unreadable_input_exits_2(tmp_path, capsys, content, message):
    path = tmp_path / "coco.json"
    if content is not None:
        path.write_text(content)
    assert validate_status([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"simgen: error: {path}: ")
    assert message in err
