"""Every scene in the library renders out of the box with exact labels."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.coco_checks import check_exact
from tests.helpers import SHARED_DATASETS, require_shared

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "scenes").glob("*.yaml"))
LMO_INPUTS = [SHARED_DATASETS / "lmo-dev" / "models"]
"""What scenes/lmo.yaml refers to outside the project (research-only data, never copied)."""


def test_library_has_the_promised_scenes():
    names = {p.stem for p in SCENES}
    assert {"tabletop", "bin_picking", "road", "lmo"} <= names


@pytest.mark.parametrize("scene", SCENES, ids=[p.stem for p in SCENES])
def test_scene_renders_with_exact_labels(tmp_path, scene):
    if scene.stem == "lmo":
        for path in LMO_INPUTS:
            require_shared(path)
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


def test_lmo_scene_is_the_kept_changes_of_its_ablation(tmp_path):
    """scenes/lmo.yaml is what README's LM-O ablation kept: the recipe before plus every kept
    change, built by the script, validates to the same config."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lmo_ablation", ROOT / "scripts/lmo_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    folders = {"bg": str(tmp_path / "backgrounds"), "tex": str(tmp_path / "textures")}
    rows, final = ablation.recipe_rows(folders, tmp_path / "lmo")
    assert len(rows) == len(ablation.ROWS)
    assert all(a != b for a, b in itertools.pairwise(rows)), "a row changes nothing"
    ablation.check_last_row(final, folders, tmp_path / "lmo", tmp_path)  # exits on mismatch


def test_thin_defect_recipe_is_the_kept_changes_of_its_ablation():
    """configs/composite_thin_defects.yaml is what the magnetic-tile ablation kept: the default
    config plus every kept composite change, built by the script, validates to the same config;
    every row changes something."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mt_ablation", ROOT / "scripts/mt_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    rows, (final, _) = ablation.recipe_rows()
    assert len(rows) == len(ablation.ROWS)
    assert all(a != b for a, b in itertools.pairwise(rows)), "a row changes nothing"
    ablation.check_recipe(final)  # exits on mismatch


def test_composites_alone_recipe_is_the_best_composites_only_row():
    """configs/composite_defects_alone.yaml is the ablation's ``priors`` row (the highest
    composites-only val AP50), built by the script."""
    import importlib.util

    from simgen.composite.config import load_composite_config, validate_composite_config

    spec = importlib.util.spec_from_file_location("mt_ablation", ROOT / "scripts/mt_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    rows, _ = ablation.recipe_rows()
    slugs = [row.slug for row in ablation.ROWS]
    recipe, _ = rows[slugs.index("priors")]
    built = validate_composite_config(recipe, source="ablation").model_dump(mode="json")
    shipped = load_composite_config(ROOT / "configs/composite_defects_alone.yaml")
    assert shipped.model_dump(mode="json") == built
