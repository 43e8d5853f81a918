"""Randomization breadth end to end: placements, textures, backgrounds, distractors, effects,
replay, and the config errors that guard them."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.cli import main
from simgen.config import load_config
from simgen.produce.replay import replay_image
from simgen.produce.runner import render_dataset
from tests.coco_checks import check_exact
from tests.helpers import SMALL

EFFECTS = (
    "effects=[{name: rain, p: 1}, {name: fog, p: 1}, {name: snow, p: 1},"
    " {name: sun_flare, p: 1}, {name: shadow, p: 1}, {name: brightness_contrast, p: 1},"
    " {name: gauss_noise, p: 1}, {name: iso_noise, p: 1}, {name: motion_blur, p: 1},"
    " {name: jpeg, p: 1}]"
)
BREADTH = [
    *SMALL,
    "num_images=4",
    "views_per_scene=2",
    "seed=3",
    "distractors.count=[2, 4]",
    "materials.texture={p: 0.8}",
    "materials.keep_original_p=0.5",
    "ground.texture={p: 1.0, kinds: [checker, noise]}",
    "background.texture={p: 1.0}",
    "camera.roll_deg=[-15, 15]",
]


@pytest.mark.parametrize("mode", ["drop", "bin", "upright", "volume"])
def test_every_placement_gives_exact_labels(tmp_path, mode):
    overrides = [*BREADTH, f"placement.mode={mode}", "placement.area=[0.3, 0.3]"]
    render_dataset(load_config(None, overrides), tmp_path)
    coco = json.loads((tmp_path / "annotations.json").read_text())
    assert check_exact(coco) > 0
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "records").glob("*.json"))]
    scene = records[0]["scene"]
    assert any(not o["labeled"] for o in scene["objects"])  # distractors are in the scene
    assert all(a["instance_id"] in _labeled_ids(r) for r in records for a in r["annotations"])
    assert (len(scene["props"]) == 4) == (mode == "bin")
    assert scene["ground_texture"] is not None and scene["background_texture"] is not None


def _labeled_ids(record):
    return {o["instance_id"] for o in record["scene"]["objects"] if o["labeled"]}


@pytest.fixture(scope="module")
def plain_and_effects(tmp_path_factory):
    root = tmp_path_factory.mktemp("effects")
    render_dataset(load_config(None, BREADTH), root / "plain")
    render_dataset(load_config(None, [*BREADTH, EFFECTS]), root / "effects")
    return root / "plain", root / "effects"


def test_effects_leave_boxes_and_masks_unchanged(plain_and_effects):
    plain, effects = plain_and_effects
    a = json.loads((plain / "annotations.json").read_text())
    b = json.loads((effects / "annotations.json").read_text())
    assert a["annotations"] == b["annotations"] and a["annotations"]
    for i in range(4):
        x = cv2.imread(str(plain / "images" / f"{i:06d}.png")).astype(int)
        y = cv2.imread(str(effects / "images" / f"{i:06d}.png")).astype(int)
        assert np.abs(x - y).mean() > 2.0  # the effects did change the pixels
        record = json.loads((effects / "records" / f"{i:06d}.json").read_text())
        assert [e["name"] for e in record["effects"]] == [
            "rain", "fog", "snow", "sun_flare", "shadow", "brightness_contrast",
            "gauss_noise", "iso_noise", "motion_blur", "jpeg",
        ]  # fmt: skip


@pytest.mark.parametrize("image_id", [1, 4])
def test_replay_is_pixel_and_label_identical(plain_and_effects, tmp_path, image_id):
    _, dataset = plain_and_effects
    result = replay_image(dataset, image_id)
    assert result.pixels_match and result.labels_match
    out = tmp_path / "replay.png"
    assert main(["replay", str(dataset), str(image_id), "--out", str(out)]) == 0
    assert out.read_bytes() == (dataset / "images" / f"{image_id - 1:06d}.png").read_bytes()


def test_replay_detects_a_tampered_record(plain_and_effects, tmp_path):
    _, dataset = plain_and_effects
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(dataset, copy)
    path = copy / "records" / "000001.json"
    record = json.loads(path.read_text())
    record["scene"]["objects"][0]["pose"][0][3] += 0.05  # move one object 5 cm
    path.write_text(json.dumps(record))
    result = replay_image(copy, 2)
    assert not result.pixels_match


def _folder_with(tmp_path: Path, name: str, content: bytes | None) -> Path:
    folder = tmp_path / "textures"
    folder.mkdir()
    if content is not None:
        (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize(
    "case, field, message",
    [
        ("unknown_effect", "effects.0.name", "unknown effect"),
        ("probability", "effects.0.p", "less than or equal to 1"),
        ("empty_folder", "background.texture.folder", "contains no images"),
        ("unreadable_image", "background.texture.folder", "unreadable image"),
    ],
)
def test_bad_randomization_config(tmp_path, capsys, case, field, message):
    scene = tmp_path / "scene.yaml"
    body = "objects:\n  catalog:\n    - {category: box, primitive: box, size: 0.05}\n"
    if case == "unknown_effect":
        body += "effects: [{name: hail, p: 0.5}]\n"
    elif case == "probability":
        body += "effects: [{name: rain, p: 1.5}]\n"
    else:
        content = None if case == "empty_folder" else b"\x89PNG\r\n\x1a\n not really"
        folder = _folder_with(tmp_path, "broken.png", content)
        body += f"background:\n  texture: {{kinds: [image], folder: {folder.name}}}\n"
    scene.write_text(body)
    out = tmp_path / "out"
    assert main(["render", str(scene), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(scene) in err and field in err and message in err
    assert not out.exists()
