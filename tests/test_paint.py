"""``color: paint``: a mesh's own vertex colours repainted from a palette, dark details kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simgen.assets import load_catalog
from simgen.config import ObjectEntry, load_config
from simgen.errors import SimgenError
from simgen.randomize import sample_scene
from simgen.randomize.material import sample_material, sample_paint
from simgen.randomize.scene import _object_color
from simgen.render.colour import paint_vertex_colors, srgb_to_linear
from tests.helpers import render_two_quads_ambient, two_quads_mesh

ROOT = Path(__file__).resolve().parents[1]
KITTI = ROOT / "scenes" / "kitti.yaml"
SEEDS = [0, 1, 7]


@pytest.mark.parametrize("keep_below", [0.2, 0.3, 0.45])
def test_paint_keeps_dark_details_and_shades_the_rest(keep_below):
    ref = 0.5  # the 90th-percentile luminance below: 9 of 10 vertices at 0.5 grey
    levels = np.array([ref] * 9 + [ref * keep_below * 0.99])  # the last: a dark detail
    linear = np.column_stack([levels, levels, levels, np.ones(10)]).astype(np.float32)
    blend = ref * keep_below * 1.5  # halfway between keep_below and 2 * keep_below
    linear = np.vstack([linear, [[blend, blend, blend, 0.5]]]).astype(np.float32)
    paint = (0.62, 0.08, 0.08)
    out = paint_vertex_colors(linear, paint, keep_below)
    full = srgb_to_linear(np.array(paint))
    np.testing.assert_allclose(out[:9, :3], np.tile(full, (9, 1)), atol=1e-6)
    np.testing.assert_array_equal(out[9], linear[9])  # dark: kept exactly
    expected = 0.5 * full * 1.5 * keep_below + 0.5 * linear[10, :3]
    np.testing.assert_allclose(out[10, :3], expected, atol=1e-6)
    assert out[10, 3] == 0.5 and out.dtype == np.float32  # alpha kept


def test_paint_scales_with_the_colours_brightness_and_paints_a_black_mesh_flat():
    linear = np.array([[0.2, 0.2, 0.2], [0.4, 0.4, 0.4]] * 10, dtype=np.float32)
    out = paint_vertex_colors(linear, (1.0, 1.0, 1.0), 0.2)  # r = 0.5 >= 2 * 0.2: full paint
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0.5], atol=1e-6)  # half the paint level
    np.testing.assert_allclose(out[1], [1.0, 1.0, 1.0], atol=1e-6)
    black = paint_vertex_colors(np.zeros((4, 3), np.float32), (0.5, 0.5, 0.5), 0.3)
    np.testing.assert_allclose(black, np.tile(srgb_to_linear(np.full(3, 0.5)), (4, 1)))


def _painted_config(*extra: str):
    cars = [f"objects.catalog.{i}.color=paint" for i in range(24)]
    return load_config(KITTI, [*cars, *extra])


@pytest.mark.parametrize("seed", SEEDS)
def test_painted_instances_take_palette_colours_and_the_threshold(seed):
    config = _painted_config(
        f"seed={seed}",
        "materials.paint.palette=[{color: [0.9, 0.1, 0.1], weight: 1}, "
        "{color: [0.1, 0.1, 0.9], weight: 3}]",
        "materials.paint.keep_p=0.25",
        "materials.paint.keep_below=0.35",
    )
    assets = load_catalog(config, source=KITTI)
    cars = [o for i in range(40) for o in sample_scene(config, assets, i).objects
            if o.category == "Car"]  # fmt: skip
    painted = [o for o in cars if o.paint is not None]
    kept = [o for o in cars if o.color is None]
    assert len(painted) + len(kept) == len(cars) > 100
    assert 0.12 < len(kept) / len(cars) < 0.4  # keep_p 0.25
    assert all(o.paint == 0.35 and o.texture is None for o in painted)
    blue = [o for o in painted if o.color[2] > o.color[0]]
    assert 0.6 < len(blue) / len(painted) < 0.9  # weight 3 of 4
    for o in painted:  # a palette colour, brightness within 1 +- 0.1
        base = np.array([0.1, 0.1, 0.9] if o.color[2] > o.color[0] else [0.9, 0.1, 0.1])
        factor = np.array(o.color[:3]) / base
        assert np.ptp(factor) < 1e-9 and 0.9 <= factor[0] <= 1.1
    others = [o for i in range(40) for o in sample_scene(config, assets, i).objects
              if o.category != "Car"]  # fmt: skip
    assert others and all(o.paint is None for o in others)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("color", ["random", "original", (0.2, 0.4, 0.6)])
def test_other_colour_modes_draw_exactly_as_before(seed, color):
    """Entries that are not ``paint`` or ``parts`` draw a material and one keep decision."""
    config = load_config(KITTI, [])
    entry = ObjectEntry(category="Car", mesh="assets:driving/cars/q_suv.ply", color=color)
    asset = load_catalog(config, source=KITTI)[0]
    rng, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    look = _object_color(entry, asset, config, rng)
    sample_material(config.materials, twin)
    twin.random()
    assert look.paint is None and look.parts is None
    assert rng.bit_generator.state == twin.bit_generator.state


@pytest.mark.parametrize("seed", SEEDS)
def test_random_paints_are_the_materials_colour_and_keep_the_dark_details(seed):
    """``colors: random``: a painted instance's paint is the material colour it drew first
    (any hue, within materials.saturation/value), with the palette's keep_below."""
    config = _painted_config(f"seed={seed}", "materials.paint.colors=random")
    entry = config.objects.catalog[0]
    asset = load_catalog(config, source=KITTI)[0]
    rng, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    looks = [_object_color(entry, asset, config, rng) for _ in range(200)]
    painted = [look for look in looks if look.paint is not None]
    assert 0.1 < 1 - len(painted) / len(looks) < 0.3  # keep_p 0.2 (the default)
    for look in looks:
        rgba, metallic, roughness = sample_material(config.materials, twin)
        twin.random()  # the keep_original_p draw
        assert look.metallic == metallic and look.roughness == roughness
        if twin.random() >= config.materials.paint.keep_p:  # painted, no palette draw
            assert look.rgba == rgba and look.paint == config.materials.paint.keep_below
        else:
            assert look.rgba is None and look.paint is None
    assert rng.bit_generator.state == twin.bit_generator.state
    hues = {round(float(np.argmax(look.rgba[:3]))) for look in painted}
    assert hues == {0, 1, 2}  # red-, green- and blue-dominant paints: not a palette's


def test_sample_paint_is_seeded():
    paint = load_config(KITTI, []).materials.paint
    draws = [sample_paint(paint, np.random.default_rng(3)) for _ in range(2)]
    assert draws[0] == draws[1]


def test_paint_on_a_mesh_without_vertex_colours_is_one_clear_error():
    config = load_config(None, ["objects.catalog.0.color=paint"])
    with pytest.raises(SimgenError) as err:
        load_catalog(config)
    assert "objects.catalog.0.color" in str(err.value) and "vertex colours" in str(err.value)


@pytest.mark.parametrize("paint", [(0.62, 0.08, 0.08), (0.92, 0.92, 0.92), (0.12, 0.18, 0.35)])
def test_a_painted_mesh_renders_its_paint_and_keeps_its_dark_part(tmp_path, paint):
    """Lit by white ambient light of level 1 only: the light quad renders to the paint's sRGB
    colour, the dark one to its own (within 2 levels)."""
    mesh = two_quads_mesh(tmp_path / "quads.ply", (204, 204, 204), (26, 26, 26))
    image, left, right = render_two_quads_ambient(mesh, color=(*paint, 1.0), paint=0.3)
    assert left.sum() > 300 and right.sum() > 300
    rgb = image.astype(int)
    assert np.abs(rgb[left] - np.round(np.array(paint) * 255)).max() <= 2
    assert np.abs(rgb[right] - 26).max() <= 2
