"""simgen merge: unique, stable ids; categories merged by name; deterministic bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from simgen.cli import main
from simgen.config import load_config
from simgen.dataset.merge import merge_datasets
from simgen.errors import SimgenError
from simgen.produce.runner import render_dataset
from tests.helpers import SMALL, assert_same_tree

OTHER_CATALOG = (
    "objects.catalog=[{category: can, primitive: cylinder, size: 0.08},"
    " {category: duck, mesh: 'pybullet_data:duck.obj', size: 0.1, color: original},"
    " {category: brick, primitive: box, size: 0.07}]"
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("merge-inputs")
    a, b = root / "a", root / "b"
    render_dataset(load_config(None, ["num_images=4", "seed=1", *SMALL]), a)
    overrides = ["num_images=3", "seed=2", "views_per_scene=3", OTHER_CATALOG, *SMALL]
    render_dataset(load_config(None, overrides), b)
    return a, b


def _coco(path: Path) -> dict:
    return json.loads((path / "annotations.json").read_text())


def test_merge_ids_categories_and_files(inputs, tmp_path):
    a, b = inputs
    out = tmp_path / "merged"
    summary = merge_datasets([a, b], out)
    coco_a, coco_b, merged = _coco(a), _coco(b), _coco(out)
    assert summary.images == 7 and len(merged["images"]) == 7
    assert [img["id"] for img in merged["images"]] == list(range(1, 8))
    assert [img["file_name"] for img in merged["images"]] == [f"{i:06d}.png" for i in range(7)]
    ann_ids = [ann["id"] for ann in merged["annotations"]]
    assert ann_ids == list(range(1, len(ann_ids) + 1))
    assert len(ann_ids) == len(coco_a["annotations"]) + len(coco_b["annotations"])
    names = [c["name"] for c in merged["categories"]]
    assert names == [c["name"] for c in coco_a["categories"]] + ["brick"]
    assert [c["id"] for c in merged["categories"]] == list(range(1, len(names) + 1))
    # B's annotations keep their category names under the merged ids, and their files.
    b_names = {c["id"]: c["name"] for c in coco_b["categories"]}
    merged_names = {c["id"]: c["name"] for c in merged["categories"]}
    offset = len(coco_a["annotations"])
    for old, new in zip(coco_b["annotations"], merged["annotations"][offset:], strict=True):
        assert merged_names[new["category_id"]] == b_names[old["category_id"]]
        assert new["image_id"] == old["image_id"] + 4
        assert new["segmentation"] == old["segmentation"] and new["bbox"] == old["bbox"]
    assert (out / "images" / "000004.png").read_bytes() == (
        b / "images" / "000000.png"
    ).read_bytes()
    record = json.loads((out / "records" / "000005.json").read_text())
    assert record["image"]["index"] == 5 and record["source"] == {"dataset": 1, "index": 1}
    assert (out / "sources" / "001" / "config.yaml").read_bytes() == (
        b / "config.yaml"
    ).read_bytes()
    assert len(COCO(str(out / "annotations.json")).getImgIds()) == 7


def test_merge_is_deterministic_and_order_sensitive(inputs, tmp_path):
    a, b = inputs
    assert main(["merge", str(a), str(b), "--out", str(tmp_path / "one")]) == 0
    merge_datasets([a, b], tmp_path / "two")
    assert_same_tree(tmp_path / "one", tmp_path / "two")
    merge_datasets([b, a], tmp_path / "reversed")
    assert _coco(tmp_path / "reversed")["categories"][0]["name"] == "can"
    # A merged dataset merges again, with nested provenance.
    merge_datasets([tmp_path / "one", a], tmp_path / "again", formats=["yolo"])
    again = _coco(tmp_path / "again")
    assert len(again["images"]) == 11
    record = json.loads((tmp_path / "again" / "records" / "000006.json").read_text())
    assert record["source"] == {"dataset": 0, "index": 6, "source": {"dataset": 1, "index": 2}}
    assert len(list((tmp_path / "again" / "yolo" / "labels").glob("*.txt"))) == 11


def test_merge_rejects_bad_input(inputs, tmp_path):
    a, _ = inputs
    with pytest.raises(SimgenError, match=r"annotations\.json: missing"):
        merge_datasets([tmp_path], tmp_path / "out")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(SimgenError, match="not an empty directory"):
        merge_datasets([a], busy)
    with pytest.raises(SimgenError, match="one of the inputs"):
        merge_datasets([a], a)
    with pytest.raises(SimgenError, match="BOP"):
        merge_datasets([a], tmp_path / "bop", formats=["bop"])
    assert main(["merge", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
