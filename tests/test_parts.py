"""``color: parts``: the parts of a mesh (its vertices of one vertex colour) repainted, each
from its own palette (default: outfits and skin tones for simgen's people and cyclists)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from simgen.assets import load_catalog
from simgen.config import PartPaint, load_config
from simgen.errors import SimgenError
from simgen.randomize import sample_scene
from simgen.randomize.material import sample_parts
from simgen.render.colour import PART_TOLERANCE, recolor_parts, srgb_to_linear
from simgen.scene import SceneSample
from tests.helpers import render_two_quads_ambient, two_quads_mesh

ROOT = Path(__file__).resolve().parents[1]
KITTI = ROOT / "scenes" / "kitti.yaml"
SEEDS = [0, 1, 7]
LEVEL = 1.0 / 255.0


def test_recolor_parts_repaints_matching_vertices_only_and_keeps_alpha():
    srgb = np.array(
        [[56, 60, 82], [57, 61, 81], [12, 12, 12], [152, 103, 64], [153, 102, 64], [200, 0, 0]],
        dtype=np.float64,
    )
    linear = np.hstack([srgb_to_linear(srgb * LEVEL), np.full((6, 1), 0.5, np.float32)])
    top, skin = (0.9, 0.1, 0.1), (0.3, 0.2, 0.1)
    parts = (
        ((56 * LEVEL, 60 * LEVEL, 82 * LEVEL), top),
        ((152 * LEVEL, 103 * LEVEL, 64 * LEVEL), skin),
    )
    out = recolor_parts(linear, parts)
    assert out.dtype == np.float32 and out.shape == linear.shape
    for i in (0, 1):  # within a level: the top
        np.testing.assert_array_equal(out[i, :3], srgb_to_linear(np.array(top)))
    for i in (3, 4):  # 152/153: both the skin
        np.testing.assert_array_equal(out[i, :3], srgb_to_linear(np.array(skin)))
    np.testing.assert_array_equal(out[[2, 5]], linear[[2, 5]])  # not listed: kept
    np.testing.assert_array_equal(out[:, 3], 0.5)


def test_recolor_parts_tolerance_edge_and_first_match_wins():
    base = np.array([100.0, 100.0, 100.0]) * LEVEL
    inside = base + np.array([2.0, -2.0, 0.0]) * LEVEL
    outside = base + np.array([3.0, 0.0, 0.0]) * LEVEL
    assert 2 * LEVEL < PART_TOLERANCE < 3 * LEVEL
    linear = srgb_to_linear(np.stack([base, inside, outside]))
    first, second = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    out = recolor_parts(linear, ((tuple(base), first), (tuple(base), second)))
    np.testing.assert_array_equal(out[:2], np.tile(srgb_to_linear(np.array(first)), (2, 1)))
    np.testing.assert_array_equal(out[2], linear[2])


@pytest.mark.parametrize("seed", SEEDS)
def test_sample_parts_draws_each_part_from_its_palette(seed):
    parts = [
        PartPaint(match=(0.1, 0.1, 0.1), palette=[{"color": (0.5, 0.5, 0.5)}], value_jitter=0.2),
        PartPaint(match=(0.2, 0.2, 0.2), palette=[{"color": (0.9, 0.0, 0.0)}], keep_p=1.0),
        PartPaint(
            match=(0.3, 0.3, 0.3),
            palette=[{"color": (0.0, 0.0, 0.8), "weight": 3.0}, {"color": (0.0, 0.8, 0.0)}],
            value_jitter=0.0,
        ),
    ]
    rng = np.random.default_rng(seed)
    draws = [sample_parts(parts, rng) for _ in range(400)]
    assert all([src for src, _ in d] == [(0.1, 0.1, 0.1), (0.3, 0.3, 0.3)] for d in draws)
    grey = np.array([d[0][1] for d in draws])
    assert np.ptp(grey, axis=1).max() < 1e-12 and 0.4 <= grey.min() and grey.max() <= 0.6
    blue = np.mean([d[1][1] == (0.0, 0.0, 0.8) for d in draws])
    assert all(d[1][1] in ((0.0, 0.0, 0.8), (0.0, 0.8, 0.0)) for d in draws)
    assert 0.68 < blue < 0.82  # weight 3 of 4
    again = [sample_parts(parts, np.random.default_rng(seed)) for _ in range(2)]
    assert again[0] == again[1]


def _people_in_parts(*extra: str):
    config = load_config(KITTI, [])
    people = [
        f"objects.catalog.{i}.color=parts"
        for i, entry in enumerate(config.objects.catalog)
        if entry.category in ("Pedestrian", "Cyclist")
    ]
    return load_config(KITTI, [*people, *extra])


@pytest.mark.parametrize("seed", SEEDS)
def test_people_get_outfits_and_nothing_else_does(seed):
    config = _people_in_parts(f"seed={seed}")
    assets = load_catalog(config, source=KITTI)
    people = 0
    for index in range(12):
        scene = sample_scene(config, assets, index)
        for obj in scene.objects:
            if obj.category in ("Pedestrian", "Cyclist"):
                people += 1
                assert obj.color is None and obj.paint is None and obj.texture is None
                assert obj.parts is not None
                sources = {src for src, _ in obj.parts}
                defaults = {tuple(p.match) for p in config.materials.parts}
                assert sources == defaults  # keep_p 0 for every default part
            else:
                assert obj.parts is None
    assert people > 10


def test_default_outfit_parts_match_the_shipped_people_and_cyclists():
    config = load_config(KITTI, [])
    matches = np.array([p.match for p in config.materials.parts])
    for folder in ("people", "cyclists"):
        for path in sorted((ROOT / "assets" / "driving" / folder).glob("*.ply")):
            colours = trimesh.load(path, process=False).visual.vertex_colors[:, :3] / 255.0
            unique = np.unique(colours, axis=0)
            covered = np.abs(unique[:, None, :] - matches[None]).max(axis=2) <= PART_TOLERANCE
            assert covered.any(axis=1).all(), path.name  # every colour of the mesh is a part


def test_records_round_trip_parts():
    config = _people_in_parts("seed=2")
    scene = sample_scene(config, load_catalog(config, source=KITTI), 0)
    again = SceneSample.from_dict(scene.to_dict())
    assert [o.parts for o in again.objects] == [o.parts for o in scene.objects]
    assert any(o.parts for o in again.objects)


def test_parts_on_a_mesh_without_vertex_colours_is_one_clear_error():
    config = load_config(None, ["objects.catalog.0.color=parts"])
    with pytest.raises(SimgenError) as err:
        load_catalog(config)
    assert "objects.catalog.0.color" in str(err.value) and "vertex colours" in str(err.value)


@pytest.mark.parametrize("top", [(0.60, 0.10, 0.10), (0.90, 0.90, 0.88), (0.30, 0.42, 0.62)])
def test_repainted_parts_render_their_new_colours(tmp_path, top):
    """Lit by white ambient light of level 1 only: the top renders to its new sRGB colour and
    the part left out to its own (within 2 levels)."""
    mesh = two_quads_mesh(tmp_path / "quads.ply", (56, 60, 82), (12, 12, 12))
    parts = (((56 * LEVEL, 60 * LEVEL, 82 * LEVEL), top),)
    image, left, right = render_two_quads_ambient(mesh, parts=parts)
    assert left.sum() > 300 and right.sum() > 300
    rgb = image.astype(int)
    assert np.abs(rgb[left] - np.round(np.array(top) * 255)).max() <= 2
    assert np.abs(rgb[right] - 12).max() <= 2
