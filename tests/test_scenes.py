"""Every scene in the library renders out of the box with exact labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.runner import render_dataset
from tests.coco_checks import check_exact

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "scenes").glob("*.yaml"))
LMO_MODELS = ROOT.parent / "shared" / "datasets" / "lmo-dev" / "models"


def test_library_has_the_promised_scenes():
    names = {p.stem for p in SCENES}
    assert {"tabletop", "bin_picking", "road", "lmo"} <= names


@pytest.mark.parametrize("scene", SCENES, ids=[p.stem for p in SCENES])
def test_scene_renders_with_exact_labels(tmp_path, scene):
    if scene.stem == "lmo" and not LMO_MODELS.is_dir():
        pytest.skip(f"LM-O models not found at {LMO_MODELS}")
    config = load_config(
        scene, ["num_images=2", "views_per_scene=2", "image.width=320", "image.height=240"]
    )
    if config.camera.intrinsics is not None:  # keep the principal point inside the small image
        config = load_config(
            scene,
            [
                "num_images=2",
                "views_per_scene=2",
                "image.width=320",
                "image.height=240",
                "camera.intrinsics={fx: 286.2, fy: 286.8, cx: 159.5, cy: 119.5}",
            ],
        )
    render_dataset(config, tmp_path, source=scene)
    coco = json.loads((tmp_path / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == config.categories()
    assert check_exact(coco) > 0
