"""KITTI out (``--format kitti``: exact 3D boxes, truncation, occlusion, calib) and in
(``simgen import-kitti``: classes, DontCare ignore regions, one-line errors), round-tripped."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simgen.config import load_config
from simgen.errors import SimgenError
from simgen.formats import WriterOptions
from simgen.formats.kitti import (
    KittiBox,
    KittiWriter,
    box_3d,
    occlusion_level,
    projection_matrix,
    truncation,
    wrap_angle,
)
from simgen.formats.kitti_import import import_kitti, parse_label_line
from simgen.geometry import look_at
from simgen.produce.runner import load_records, render_dataset
from simgen.scene import SceneSample
from tests.helpers import SHARED_DATASETS, kitti_folder, require_shared

K = np.array([[721.5377, 0.0, 609.5593], [0.0, 721.5377, 172.854], [0.0, 0.0, 1.0]])
"""KITTI's P2 intrinsics (frame 000000)."""

SIZE = (1242, 375)


def _yaw_pose(yaw: float, position) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    pose = np.eye(4)
    pose[:3, :3] = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
    pose[:3, 3] = position
    return pose


def _box_vertices(length: float, width: float, height: float) -> np.ndarray:
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    return signs * np.array([length, width, height]) / 2.0


def _camera(pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """A camera 1.65 m up at the origin looking along world +y, pitched down and rolled."""
    eye = np.array([0.0, 0.0, 1.65])
    pitch = math.radians(pitch_deg)
    target = eye + np.array([0.0, math.cos(pitch), -math.sin(pitch)])
    pose = look_at(eye, target)
    roll = math.radians(roll_deg)
    c, s = math.cos(roll), math.sin(roll)
    pose[:3, :3] = pose[:3, :3] @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return pose


def _kitti_corners(box) -> np.ndarray:
    """(8, 3) corners of a KITTI box (the devkit's construction)."""
    h, w, length = box.dimensions
    x = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    y = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    z = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    c, s = math.cos(box.rotation_y), math.sin(box.rotation_y)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return (rotation @ np.stack([x, y, z])).T + np.array(box.location)


def _pixels(P: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ P.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def _sorted_rows(values: np.ndarray) -> np.ndarray:
    return values[np.lexsort(values.T[::-1])]


@pytest.mark.parametrize("pitch_deg, roll_deg", [(0.0, 0.0), (4.0, 0.0), (-2.0, 3.0)])
@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi / 2])
def test_3d_box_is_exact(yaw: float, pitch_deg: float, roll_deg: float) -> None:
    length, width, height = 4.2, 1.8, 1.5
    vertices = _box_vertices(length, width, height)
    object_pose = _yaw_pose(yaw, [2.0, 15.0, height / 2])
    camera_pose = _camera(pitch_deg, roll_deg)
    box = box_3d(vertices, object_pose, 1.0, camera_pose)
    assert box.dimensions == pytest.approx((height, width, length), abs=1e-12)
    # The devkit's corners, projected with P2, land on the mesh corners' true pixels.
    P2 = projection_matrix(K, camera_pose)
    world = vertices @ object_pose[:3, :3].T + object_pose[:3, 3]
    camera = (world - camera_pose[:3, 3]) @ camera_pose[:3, :3]
    true_pixels = _pixels(np.hstack([K, np.zeros((3, 1))]), camera)
    kitti_pixels = _pixels(P2, _kitti_corners(box))
    np.testing.assert_allclose(_sorted_rows(kitti_pixels), _sorted_rows(true_pixels), atol=1e-6)
    # Bottom-face centre below the object's centre, on the ground; alpha from the ray.
    if pitch_deg == 0.0 and roll_deg == 0.0:
        np.testing.assert_allclose(box.location, (2.0, 1.65, 15.0), atol=1e-12)
        assert box.rotation_y == pytest.approx(wrap_angle(-yaw), abs=1e-12)
    expected_alpha = wrap_angle(box.rotation_y - math.atan2(box.location[0], box.location[2]))
    assert box.alpha == pytest.approx(expected_alpha, abs=1e-12)


def test_3d_box_of_a_scaled_object_pointing_along_the_view() -> None:
    vertices = _box_vertices(2.0, 1.0, 1.0)
    # Heading along world +y = the camera's viewing direction = level +z: ry = -pi/2.
    box = box_3d(vertices, _yaw_pose(math.pi / 2, [0.0, 10.0, 1.0]), 2.0, _camera(0.0))
    assert box.dimensions == pytest.approx((2.0, 2.0, 4.0))
    assert box.rotation_y == pytest.approx(-math.pi / 2)
    assert box.alpha == pytest.approx(-math.pi / 2)


def test_a_tilted_object_gets_the_upright_box_that_holds_it() -> None:
    vertices = _box_vertices(2.0, 1.0, 1.0)
    tilt = math.radians(30)
    pose = np.eye(4)
    pose[:3, :3] = [
        [math.cos(tilt), 0, -math.sin(tilt)],
        [0, 1, 0],
        [math.sin(tilt), 0, math.cos(tilt)],
    ]
    pose[:3, 3] = [0.0, 10.0, 2.0]
    box = box_3d(vertices, pose, 1.0, _camera(0.0))
    world = vertices @ pose[:3, :3].T + pose[:3, 3]
    expected_height = world[:, 2].max() - world[:, 2].min()
    assert box.dimensions[0] == pytest.approx(expected_height)
    assert box.dimensions[2] == pytest.approx(world[:, 0].max() - world[:, 0].min())
    assert box.location[1] == pytest.approx(1.65 - world[:, 2].min())


def test_truncation() -> None:
    vertices = _box_vertices(2.0, 2.0, 2.0)
    camera = _camera(0.0)
    inside = _yaw_pose(0.0, [0.0, 20.0, 1.65])
    assert truncation(vertices, inside, 1.0, K, camera, SIZE) == 0.0
    behind = _yaw_pose(0.0, [0.0, 0.5, 1.65])
    assert truncation(vertices, behind, 1.0, K, camera, SIZE) == 1.0
    # Centred on the right border (u = W - 0.5): half of its box is outside.
    depth = 20.0
    x = (SIZE[0] - 0.5 - K[0, 2]) * depth / K[0, 0]
    flat = _box_vertices(2.0, 0.0, 2.0)  # a plate facing the camera: its box is exact
    edge = _yaw_pose(0.0, [x, depth, 1.65])
    assert truncation(flat, edge, 1.0, K, camera, SIZE) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(
    "visib, level", [(1.0, 0), (0.9, 0), (0.89, 1), (0.5, 1), (0.49, 2), (0.0, 2)]
)
def test_occlusion_levels(visib: float, level: int) -> None:
    assert occlusion_level(visib) == level


# ----------------------------------------------------------------------------- round trip


@pytest.fixture(scope="module")
def road(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kitti")
    config = load_config(
        Path(__file__).resolve().parents[1] / "scenes" / "road.yaml",
        ["num_images=4", "views_per_scene=2", "image.width=400", "image.height=240", "effects=[]"],
    )
    render_dataset(config, out, formats=["kitti"])
    return out


def _label_rows(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def test_writer_lines_match_the_records(road: Path) -> None:
    records = load_records(road, 4)
    config = load_config(road / "config.yaml")
    catalog = {i: (c.primitive or c.mesh) for i, c in enumerate(config.objects.catalog)}
    checked_boxes = 0
    for record in records:
        stem = f"{record['image']['index']:06d}"
        rows = _label_rows(road / "kitti" / "label_2" / f"{stem}.txt")
        assert len(rows) == len(record["annotations"])
        calib = dict(
            (line.split(":")[0], np.array(line.split()[1:], float))
            for line in (road / "kitti" / "calib" / f"{stem}.txt").read_text().splitlines()
        )
        assert set(calib) == {"P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"}
        P2 = calib["P2"].reshape(3, 4)
        sample = SceneSample.from_dict(record["scene"])
        by_id = {o.instance_id: o for o in sample.objects}
        for row, ann in zip(rows, record["annotations"], strict=True):
            assert len(row) == 15 and row[0] == ann["category"]
            x, y, w, h = ann["bbox_amodal"]
            assert [float(v) for v in row[4:8]] == [x, y, x + w - 1, y + h - 1]
            assert int(row[2]) == occlusion_level(ann["visib_fract"])
            obj = by_id[ann["instance_id"]]
            upright = np.allclose(obj.pose[:3, 2], [0, 0, 1], atol=1e-6)
            if catalog[obj.catalog_index] == "box" and upright and float(row[1]) == 0.0:
                # A box's silhouette is the hull of its 8 projected corners.
                h3, w3, l3, x3, y3, z3, ry = (float(v) for v in row[8:15])
                corners = _kitti_corners(KittiBox((h3, w3, l3), (x3, y3, z3), ry, 0.0))
                uv = _pixels(P2, corners)
                # pixel-index box of the projected hull: within a pixel of the label's
                assert uv[:, 0].min() == pytest.approx(x, abs=1.0)
                assert uv[:, 0].max() == pytest.approx(x + w - 1, abs=1.0)
                assert uv[:, 1].min() == pytest.approx(y, abs=1.0)
                assert uv[:, 1].max() == pytest.approx(y + h - 1, abs=1.0)
                checked_boxes += 1
    assert checked_boxes > 0


def test_import_round_trips_the_writer(road: Path, tmp_path: Path) -> None:
    out = tmp_path / "imported"
    summary = import_kitti(road / "kitti", out, ignore_as={})
    coco = json.loads((out / "annotations.json").read_text())
    records = load_records(road, 4)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_frame: dict[str, list[dict]] = {}
    for ann in coco["annotations"]:
        by_frame.setdefault(ann["image_id"], []).append(ann)
    assert summary["images"] == len(records)
    for image, record in zip(coco["images"], records, strict=True):
        anns = by_frame.get(image["id"], [])
        assert [names[a["category_id"]] for a in anns] == [
            a["category"] for a in record["annotations"]
        ]
        assert [a["bbox"] for a in anns] == [a["bbox_amodal"] for a in record["annotations"]]
        rows = _label_rows(road / "kitti" / "label_2" / image["file_name"].replace(".png", ".txt"))
        for ann, row in zip(anns, rows, strict=True):
            assert ann["kitti"]["location"] == [float(v) for v in row[11:14]]
            assert ann["kitti"]["rotation_y"] == float(row[14])


# ----------------------------------------------------------------------------- import


CAR = "Car 0.00 0 -1.50 10.00 20.00 59.00 69.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.55\n"
VAN = "Van 0.00 1 -1.50 100.00 20.00 149.00 59.00 2.00 1.80 4.50 3.00 1.60 20.00 -1.55\n"
DONT = "DontCare -1 -1 -10 150.20 10.00 170.70 30.40 -1 -1 -1 -1000 -1000 -1000 -10\n"


def test_import_classes_and_dont_care(tmp_path: Path) -> None:
    root = kitti_folder(tmp_path / "k", {"000000": CAR + VAN + DONT, "000001": ""})
    summary = import_kitti(root, tmp_path / "out")
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert list(names.values())[:3] == ["Car", "Van", "Truck"]
    instances = [a for a in coco["annotations"] if not a["iscrowd"]]
    assert [(names[a["category_id"]], a["ignore"]) for a in instances] == [
        ("Car", False),
        ("Car", True),  # KITTI's rule: a van is neither a hit nor a miss for Car
    ]
    assert instances[0]["bbox"] == [10.0, 20.0, 50.0, 50.0]
    crowd = [a for a in coco["annotations"] if a["iscrowd"]]
    assert len(crowd) == len(names) and all(a["ignore"] for a in crowd)
    assert crowd[0]["bbox"] == [150, 10, 22, 21] and crowd[0]["area"] == 462
    assert summary == {**summary, "images": 2, "instances": 2, "ignored": 1, "dont_care": 1}
    merged = import_kitti(root, tmp_path / "merged", mapping={"Van": "Car"})
    coco = json.loads((tmp_path / "merged" / "annotations.json").read_text())
    assert "Van" not in [c["name"] for c in coco["categories"]]
    assert merged["ignored"] == 0 and merged["instances"] == 2


def test_dont_care_neither_rewards_nor_penalizes(tmp_path: Path) -> None:
    from simgen.gap.data import load_detection_set
    from simgen.gap.evaluate import evaluate

    root = kitti_folder(tmp_path / "k", {"000000": CAR + DONT})
    import_kitti(root, tmp_path / "out")
    test = load_detection_set(tmp_path / "out", categories=["Car"])
    sample = test.samples[0]
    assert sample.ignore.tolist() == [False, True]  # the region: no training loss inside
    hit = np.array([[10.0, 20.0, 60.0, 70.0]], np.float32)
    inside = np.array([[152.0, 12.0, 168.0, 28.0]], np.float32)

    def score(boxes: np.ndarray) -> float:
        scores = np.linspace(1.0, 0.5, len(boxes)).astype(np.float32)
        return evaluate(test, [(boxes, scores, np.zeros(len(boxes), np.int64))])["AP"]

    # A confident detection inside DontCare ranks above the car yet costs nothing.
    assert score(np.concatenate([inside, hit])) == score(hit) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Car 0.00 0 -1.50 10.00 20.00 59.00 69.00 1.50 1.60 3.90 1.00 1.60 20.00\n", "14 fields"),
        (CAR.replace("1.60 3.90", "1.60 x"), "not a number"),
        (CAR.replace("59.00", "205.00"), "outside the 200x100 image"),
        (CAR.replace("10.00 20.00 59.00", "60.00 20.00 59.00"), "inverted box"),
        (CAR.replace(" 0 -1.50", " 0.5 -1.50"), "occluded must be an integer"),
    ],
)
def test_bad_label_line_is_one_line_naming_file_and_line(
    tmp_path: Path, capsys, text: str, message: str
) -> None:
    from simgen.cli import main

    root = kitti_folder(tmp_path / "k", {"000000": CAR, "000001": CAR + text})
    out = tmp_path / "out"
    assert main(["import-kitti", str(root), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err
    assert "000001.txt: line 2" in err
    assert not out.exists()


@pytest.mark.parametrize("missing", ["label", "image"])
def test_unpaired_files_are_refused(tmp_path: Path, missing: str) -> None:
    if missing == "label":
        root = kitti_folder(tmp_path / "k", {"000000": CAR}, images=("000000", "000001"))
        match = "000001.png: photo without a label file"
    else:
        root = kitti_folder(tmp_path / "k", {"000000": CAR, "000001": CAR}, images=("000000",))
        match = "000001.txt: label file without a photo"
    with pytest.raises(SimgenError, match=match):
        import_kitti(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parse_accepts_a_result_score() -> None:
    obj = parse_label_line(CAR.strip() + " 0.93", Path("x.txt"), 1)
    assert obj.type == "Car" and obj.box == (10.0, 20.0, 59.0, 69.0)


def test_kitti_writer_needs_the_catalog(tmp_path: Path) -> None:
    with pytest.raises(SimgenError, match="catalog"):
        KittiWriter(WriterOptions()).finalize(tmp_path, [], ["Car"])


def test_kitti_dev_frames_import() -> None:
    root = require_shared(SHARED_DATASETS / "kitti-dev")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        summary = import_kitti(root, Path(tmp) / "out")
        coco = json.loads((Path(tmp) / "out" / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    counts: dict[tuple[str, bool], int] = {}
    for ann in coco["annotations"]:
        if not ann["iscrowd"]:
            key = (names[ann["category_id"]], ann["ignore"])
            counts[key] = counts.get(key, 0) + 1
    assert counts[("Car", False)] == 147 and counts[("Car", True)] == 14  # vans ignored
    assert counts[("Pedestrian", False)] == 23 and counts[("Cyclist", False)] == 7
    assert summary["images"] == 50 and summary["dont_care"] == 145


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("street")
    scene = Path(__file__).resolve().parents[1] / "scenes" / "kitti.yaml"
    config = load_config(scene, ["num_images=3", "effects=[]"])
    render_dataset(config, out, formats=["kitti"])
    return out


def test_street_boxes_are_the_meshes_own(street: Path) -> None:
    """scenes/kitti.yaml stands every object upright: its KITTI box is its mesh's box."""
    from simgen.assets import load_catalog

    config = load_config(street / "config.yaml")
    assets = load_catalog(config)
    lines = 0
    for record in load_records(street, 3):
        sample = SceneSample.from_dict(record["scene"])
        by_id = {o.instance_id: o for o in sample.objects}
        rows = _label_rows(street / "kitti" / "label_2" / f"{record['image']['index']:06d}.txt")
        for row, ann in zip(rows, record["annotations"], strict=True):
            obj = by_id[ann["instance_id"]]
            length, width, height = assets[obj.catalog_index].extents * obj.scale
            assert [float(v) for v in row[8:11]] == pytest.approx([height, width, length], abs=6e-5)
            assert row[0] in ("Car", "Pedestrian", "Cyclist")
            lines += 1
    assert lines > 0
