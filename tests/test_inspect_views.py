"""simgen preview, stats and report: outputs checked by content against recomputation."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from simgen.cli import main
from simgen.inspect.draw import IGNORE_COLOUR, MASK_ALPHA, instance_colour, overlay, read_rgb
from simgen.inspect.preview import CAPTION_HEIGHT, pick_images
from simgen.inspect.provenance import load_records, summarize_records
from tests.helpers import IMAGE_ALTS, SECTION_IDS, Page, read_png


@pytest.fixture(scope="module")
def coco(dataset: Path) -> dict[str, Any]:
    return json.loads((dataset / "annotations.json").read_text())


def _mask(ann: dict[str, Any]) -> np.ndarray:
    rle = ann["segmentation"]
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}) > 0


def _polygons(ann: dict[str, Any]) -> list[list[float]]:
    contours, _ = cv2.findContours(
        _mask(ann).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    return [(c.reshape(-1, 2) + 0.5).ravel().tolist() for c in contours if len(c) >= 3]


@pytest.fixture(scope="module")
def real_like(tmp_path_factory, dataset: Path, coco: dict[str, Any]) -> Path:
    """A COCO file as real data has it: polygons, a crowd region, no simgen extras, a category
    simgen lacks, another missing, float boxes; images referenced from the dataset."""
    data = copy.deepcopy(coco)
    data["categories"] = [c for c in data["categories"] if c["name"] != "duck"]
    data["categories"].append({"id": 50, "name": "plate", "supercategory": "object"})
    duck = next(c["id"] for c in coco["categories"] if c["name"] == "duck")
    anns = []
    for k, ann in enumerate(data["annotations"]):
        if ann["category_id"] == duck:
            continue
        new = {key: ann[key] for key in ("id", "image_id", "category_id", "bbox", "area")}
        new["iscrowd"] = 0
        new["segmentation"] = _polygons(ann)
        if k % 5 == 0:
            new["category_id"] = 50
        anns.append(new)
    anns[0]["iscrowd"] = 1
    data["annotations"] = anns
    path = tmp_path_factory.mktemp("real") / "instances.json"
    path.write_text(json.dumps(data))
    return path


# ----------------------------------------------------------------------------- drawing


def test_pick_images_spreads_evenly():
    images = [{"id": i} for i in range(8)]
    assert [im["id"] for im in pick_images(images, 4)] == [0, 2, 5, 7]
    assert [im["id"] for im in pick_images(images, 1)] == [0]
    assert pick_images(images, 20) == images


def test_overlay_fills_masks_and_flags_ignore(dataset, coco):
    image = read_rgb(dataset / "images" / "000000.png")
    anns = [dict(a) for a in coco["annotations"] if a["image_id"] == 1]
    anns[1]["ignore"] = True
    names = {c["id"]: c["name"] for c in coco["categories"]}
    out = overlay(image, anns, names)
    height, width = image.shape[:2]
    # pixels near a box edge or in a caption band may hold lines or text
    drawn = np.zeros((height, width), dtype=bool)
    for ann in anns:
        for key in ("bbox", "bbox_amodal"):
            x, y, w, h = ann[key]
            band = np.zeros_like(drawn)
            band[max(0, y - 4) : y + h + 4, max(0, x - 4) : x + w + 4] = True
            band[y + 4 : y + h - 4, x + 4 : x + w - 4] = False
            drawn |= band
        x, y = ann["bbox"][:2]
        drawn[max(0, y - 22) : y + 5, max(0, x - 2) : x + 200] = True
    union = np.zeros((height, width), dtype=bool)
    for k, ann in enumerate(anns):
        mask = _mask(ann)
        union |= mask
        colour = IGNORE_COLOUR if k == 1 else instance_colour(k)
        inside = mask & ~drawn
        assert inside.sum() > 20
        expected = ((1 - MASK_ALPHA) * image[inside] + MASK_ALPHA * np.array(colour)).astype(
            np.uint8
        )
        assert np.array_equal(out[inside], expected)
    assert IGNORE_COLOUR == (255, 0, 0)
    untouched = ~union & ~drawn
    assert np.array_equal(out[untouched], image[untouched])


def test_preview_sheet(tmp_path, dataset, coco):
    out = tmp_path / "sheet.png"
    assert main(["preview", str(dataset), "--out", str(out), "--n", "4"]) == 0
    sheet = read_png(out)
    tile_w, tile_h = 320, 240  # 640x480 images at the default tile width
    assert sheet.shape == (2 * (tile_h + CAPTION_HEIGHT), 2 * tile_w, 3)
    raws = [
        cv2.resize(read_rgb(dataset / "images" / f"{i:06d}.png"), (tile_w, tile_h))
        for i in range(8)
    ]
    for k, index in enumerate([0, 2, 5, 7]):
        row, col = divmod(k, 2)
        y, x = row * (tile_h + CAPTION_HEIGHT), col * tile_w
        tile = sheet[y : y + tile_h, x : x + tile_w].astype(np.int32)
        same = [np.mean(np.abs(tile - raw).max(axis=2) <= 2) for raw in raws]
        assert int(np.argmax(same)) == index  # the tile shows the picked image
        assert 0.4 < same[index] < 0.995  # with labels drawn on part of it
        for ann in (a for a in coco["annotations"] if a["image_id"] == index + 1):
            small = cv2.resize(_mask(ann).astype(np.uint8), (tile_w, tile_h)) > 0
            small = cv2.erode(small.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            if small.sum() >= 10:  # masks are tinted
                assert np.abs(tile[small] - raws[index][small]).max(axis=1).mean() > 10
        caption = sheet[y + tile_h : y + tile_h + CAPTION_HEIGHT, x : x + tile_w]
        assert (caption.max(axis=2) > 150).sum() > 30  # caption text


def test_preview_of_a_coco_file_with_images_option(tmp_path, dataset, real_like):
    out = tmp_path / "sheet.png"
    args = ["preview", str(real_like), "--images", str(dataset / "images"), "--n", "3"]
    assert main([*args, "--out", str(out), "--tile-width", "200"]) == 0
    assert read_png(out).shape == (2 * (150 + CAPTION_HEIGHT), 2 * 200, 3)


# ----------------------------------------------------------------------------- stats


def _instance_values(data: dict[str, Any]) -> dict[str, Any]:
    """Per-instance values recomputed in plain Python (non-crowd annotations)."""
    images = {im["id"]: im for im in data["images"]}
    names = {c["id"]: c["name"] for c in data["categories"]}
    per_image = Counter()
    out: dict[str, list] = {"classes": [], "size": [], "aspect": [], "cx": [], "cy": []}
    out["visibility"] = []
    for ann in data["annotations"]:
        if ann.get("iscrowd") == 1:
            continue
        im = images[ann["image_id"]]
        x, y, w, h = ann["bbox"]
        per_image[ann["image_id"]] += 1
        out["classes"].append(names[ann["category_id"]])
        out["size"].append(math.sqrt(w * h) / math.sqrt(im["width"] ** 2 + im["height"] ** 2))
        out["aspect"].append(math.log(w / h))
        out["cx"].append((x + w / 2) / im["width"])
        out["cy"].append((y + h / 2) / im["height"])
        if "visib_fract" in ann:
            out["visibility"].append(ann["visib_fract"])
    out["per_image"] = [per_image[i] for i in images]
    return out


def _centre_counts(values: dict[str, Any]) -> np.ndarray:
    inner = [k / 10 for k in range(1, 10)]
    counts = np.zeros((10, 10), dtype=int)
    for cx, cy in zip(values["cx"], values["cy"], strict=True):
        counts[sum(cy >= e for e in inner), sum(cx >= e for e in inner)] += 1
    return counts


def _w1(a: list[float], b: list[float]) -> float:
    """1-D Wasserstein distance: the area between the two empirical CDFs."""
    xs = sorted(a + b)
    total = 0.0
    for left, right in itertools.pairwise(xs):
        fa = sum(v <= left for v in a) / len(a)
        fb = sum(v <= left for v in b) / len(b)
        total += abs(fa - fb) * (right - left)
    return total


def _tv(p: dict[str, int], q: dict[str, int]) -> float:
    keys = set(p) | set(q)
    sp, sq = sum(p.values()), sum(q.values())
    return 0.5 * sum(abs(p.get(k, 0) / sp - q.get(k, 0) / sq) for k in keys)


def test_stats_equal_recomputation(tmp_path, dataset, coco, capsys):
    out, plot = tmp_path / "stats.json", tmp_path / "plots.png"
    assert main(["stats", str(dataset), "--out", str(out), "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    stats = json.loads(out.read_text())["dataset"]
    v = _instance_values(coco)
    assert stats["images"] == len(coco["images"]) == 8
    assert stats["instances"] == len(coco["annotations"])
    assert stats["ignored"] == sum(a["ignore"] for a in coco["annotations"])
    expected_counts = {c["name"]: v["classes"].count(c["name"]) for c in coco["categories"]}
    assert stats["class_counts"] == expected_counts
    for key in ("size", "aspect", "visibility", "per_image"):
        name = {"size": "box_size", "per_image": "instances_per_image"}.get(key, key)
        data = sorted(v[key])
        assert stats[name]["count"] == len(data)
        assert stats[name]["mean"] == pytest.approx(sum(data) / len(data), rel=1e-12)
        assert stats[name]["min"] == pytest.approx(data[0], rel=1e-12)
        assert stats[name]["max"] == pytest.approx(data[-1], rel=1e-12)
        assert sum(stats[name]["histogram"]["counts"]) == len(data)
    assert np.array_equal(np.array(stats["centres"]["counts"]), _centre_counts(v))
    per_image = Counter(v["per_image"])
    hist = stats["instances_per_image"]["histogram"]
    assert hist["counts"] == [per_image.get(k, 0) for k in range(len(hist["counts"]))]
    assert "instances per image (mean)" in printed and f"{stats['instances']}" in printed
    figure = read_png(plot)
    assert figure.shape == (640, 1260, 3)  # 3 x 2 panels of 4.2 x 3.2 inches at 100 dpi
    assert figure.std() > 10


def test_stats_compare_distances(tmp_path, dataset, coco, real_like, capsys):
    out = tmp_path / "compare.json"
    args = ["stats", str(dataset), "--compare", str(real_like), "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    a, b = _instance_values(coco), _instance_values(json.loads(real_like.read_text()))
    d = {k: v["value"] for k, v in result["distances"].items()}
    assert d["class_balance"] == pytest.approx(_tv(Counter(a["classes"]), Counter(b["classes"])))
    assert d["instances_per_image"] == pytest.approx(_w1(a["per_image"], b["per_image"]))
    assert d["box_size"] == pytest.approx(_w1(a["size"], b["size"]))
    assert d["aspect"] == pytest.approx(_w1(a["aspect"], b["aspect"]))
    assert d["visibility"] is None  # the real-like file has no visib_fract
    ca, cb = _centre_counts(a), _centre_counts(b)
    assert d["centres"] == pytest.approx(0.5 * np.abs(ca / ca.sum() - cb / cb.sum()).sum())
    balance = result["distances"]["class_balance"]
    assert balance["only_in_first"] == ["duck"] and balance["only_in_second"] == ["plate"]
    assert "total variation" in balance["metric"]
    assert "Wasserstein" in result["distances"]["box_size"]["metric"]
    assert result["other"]["crowd"] == 1
    assert "distance" in printed and "Wasserstein" in printed


def test_stats_compare_with_itself_is_zero(tmp_path, dataset):
    out = tmp_path / "self.json"
    assert main(["stats", str(dataset), "--compare", str(dataset), "--out", str(out)]) == 0
    distances = json.loads(out.read_text())["distances"]
    assert all(d["value"] == 0 for d in distances.values()), distances


# ----------------------------------------------------------------------------- provenance


def test_provenance_summary_equals_recomputation(dataset):
    records = load_records(dataset)
    summary = summarize_records(records)
    scenes = {r["scene"]["scene_index"]: r["scene"] for r in records}
    assert summary["images"] == 8 and summary["scenes"] == len(scenes) == 2
    kinds = Counter(light["kind"] for s in scenes.values() for light in s["lights"])
    assert summary["lights_by_kind"] == dict(kinds)
    labeled = [sum(o.get("labeled", True) for o in s["objects"]) for s in scenes.values()]
    assert summary["objects_per_scene"]["min"] == min(labeled)
    assert summary["objects_per_scene"]["max"] == max(labeled)
    centres = [np.array(r["scene"]["views"][r["view_index"]]["pose"])[:3, 3] for r in records]
    distances = [float(np.linalg.norm(c)) for c in centres]
    elevations = [math.degrees(math.asin(c[2] / np.linalg.norm(c))) for c in centres]
    assert summary["camera_distance_m"]["min"] == pytest.approx(min(distances))
    assert summary["camera_distance_m"]["max"] == pytest.approx(max(distances))
    assert summary["camera_elevation_deg"]["max"] == pytest.approx(max(elevations))
    instances = Counter(a["category"] for r in records for a in r["annotations"])
    assert summary["instances_by_category"] == dict(sorted(instances.items()))


# ----------------------------------------------------------------------------- report


def _decode_png(src: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    data = np.frombuffer(base64.b64decode(src[len(prefix) :]), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def test_report_content(report_dir, report_html, coco):
    text = report_html.read_text()
    page = Page()
    page.feed(text)
    assert page.sections == SECTION_IDS
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert [img["alt"] for img in page.images] == IMAGE_ALTS
    for img in page.images:
        decoded = _decode_png(img["src"])
        assert decoded.shape[:2] == (int(img["height"]), int(img["width"]))
        assert decoded.std() > 5
    sheet = _decode_png(page.images[0]["src"])
    assert sheet.shape == (2 * (240 + CAPTION_HEIGHT), 640, 3)
    summary = dict(page.tables["summary/summary"][1:])
    assert summary["images"] == "8"
    assert summary["instances"] == str(len(coco["annotations"]))
    assert summary["validation errors"] == "0"
    classes = {row[0]: int(row[1]) for row in page.tables["class-balance/class-balance"][1:]}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert classes == {
        n: sum(names[a["category_id"]] == n for a in coco["annotations"]) for n in names.values()
    }
    assert page.pre == [(report_dir / "config.yaml").read_text()]
    provenance = dict(page.tables["provenance/provenance"][1:])
    assert provenance["scenes"] == "2" and provenance["records (images)"] == "8"
    gap = page.tables["gap/gap"]
    assert gap[0] == ["train", "AP", "AP50", "AP75", "AP duck", "AP mug"]
    assert gap[1] == ["synthetic", "0.4123", "0.6512", "0.4401", "0.5", "0.25"]
    assert gap[2] == ["real", "0.5511", "0.8", "0.6", "0.7", "–"]
    assert "12.5 minutes" in text


def test_report_without_gap_and_with_comparison(tmp_path, dataset, real_like):
    out = tmp_path / "report.html"
    args = ["report", str(dataset), "--out", str(out), "--n", "2", "--compare", str(real_like)]
    assert main(args) == 0
    text = out.read_text()
    page = Page()
    page.feed(text)
    assert page.sections == [*SECTION_IDS[:6], "comparison", *SECTION_IDS[6:]]
    assert "No gap results" in text
    distances = {row[0]: row[1] for row in page.tables["comparison/distances"][1:]}
    assert distances["visibility"] == "–" and float(distances["class_balance"]) > 0


@pytest.mark.parametrize(
    ("command", "setup", "message"),
    [
        ("preview", "missing", "file not found"),
        ("stats", "empty_dir", "directory holds no annotations.json"),
        ("report", "no_images_key", "images: missing or not a list"),
        ("report", "bad_gap", "gap.json: rows"),
    ],
)
def test_bad_input_exits_2(tmp_path, dataset, capsys, command, setup, message):
    target = tmp_path / "data"
    if setup == "empty_dir":
        target.mkdir()
    elif setup == "no_images_key":
        target.mkdir()
        (target / "annotations.json").write_text('{"annotations": [], "categories": []}')
    elif setup == "bad_gap":
        shutil.copytree(dataset, target)
        (target / "gap.json").write_text('{"rows": 3}')
    args = [command, str(target)] + ([] if command == "stats" else ["--out", str(tmp_path / "o")])
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simgen: error: ") and message in err[0]
    assert not (tmp_path / "o").exists()


def test_report_shows_the_label_efficiency_curve(tmp_path, dataset):
    from simgen.gap.curve import aggregate, summary_sentence
    from simgen.gap.report import label_efficiency_plot

    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    rows = [
        {"train": train, "real_images": k, "seed": seed, "backbone": "lite0", "AP": ap,
         "AP50": 2 * ap, "AP75": ap / 2, "per_class": {"duck": ap}, "per_class_AP50": {}}
        for train, k, seed, ap in [("synthetic", 0, 0, 0.1), ("synthetic", 0, 1, 0.3),
                                   ("real", 5, 0, 0.15), ("real", 5, 1, 0.15)]
    ]  # fmt: skip
    curve = aggregate(rows, ["duck"])
    gap = {"rows": rows, "curve": curve, "summary": summary_sentence(curve), "minutes": 3.0}
    (root / "gap.json").write_text(json.dumps(gap))
    label_efficiency_plot(root / "label_efficiency.png", curve)
    out = tmp_path / "report.html"
    assert main(["report", str(root), "--out", str(out), "--n", "4"]) == 0
    text = out.read_text()
    page = Page()
    page.feed(text)
    table = page.tables["gap/gap"]
    assert table[0] == ["train", "real images", "seeds", "AP", "AP50", "AP75"]
    assert table[1] == ["synthetic", "0", "2", "0.2 ± 0.1", "0.4 ± 0.2", "0.1 ± 0.05"]
    assert table[2][:4] == ["real", "5", "2", "0.15 ± 0"]
    assert "Synthetic data alone reaches the AP of 5 real photos" in text
    (plot,) = [img for img in page.images if img["alt"] == "label efficiency"]
    assert _decode_png(plot["src"]).std() > 5
