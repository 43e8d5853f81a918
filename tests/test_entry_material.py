"""A catalog entry's own ``metallic`` and ``roughness`` ranges: drawn per instance, and the
instances that keep their mesh's own colours are lit with them (``parts == ()``) instead of
pyrender's default material for vertex colours (metallic 0.2, roughness 0.8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simgen.assets import load_catalog
from simgen.config import ObjectEntry, load_config
from simgen.produce.replay import replay_image
from simgen.produce.runner import render_dataset
from simgen.randomize import sample_scene
from simgen.randomize.material import sample_material
from simgen.randomize.scene import _object_color
from simgen.render.colour import srgb_to_linear
from tests.coco_checks import check_exact
from tests.helpers import render_two_quads_ambient, two_quads_mesh

SEEDS = [0, 1, 7]
HEAD_ON = (0.0, -0.4, 0.0)
"""A light from the camera."""
OBLIQUE = (0.4, -0.4, 0.3)
"""A light from the side and above: its mirror reflection misses the camera."""


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("metallic", "roughness"),
    [((0.0, 0.0), None), (None, (0.4, 0.5)), ((0.1, 0.3), (0.6, 0.6)), (None, None)],
)
@pytest.mark.parametrize("color", ["original", "random", (0.2, 0.4, 0.6)])
def test_an_entrys_ranges_are_drawn_after_the_shared_material(seed, metallic, roughness, color):
    """One more draw per range the entry sets, after the shared material and keep decision;
    kept colours are lit with the draws (``parts == ()``) only when the entry sets a range."""
    config = load_config(None, ["materials.keep_original_p=1"])
    asset = load_catalog(config)[0]  # the duck: a textured mesh
    entry = ObjectEntry(category="duck", mesh="pybullet_data:duck.obj", color=color,
                        metallic=metallic, roughness=roughness)  # fmt: skip
    rng, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    look = _object_color(entry, asset, config, rng)
    _, want_metallic, want_roughness = sample_material(config.materials, twin)
    twin.random()
    if metallic is not None:
        want_metallic = float(twin.uniform(*metallic))
        assert metallic[0] <= look.metallic <= metallic[1]
    if roughness is not None:
        want_roughness = float(twin.uniform(*roughness))
        assert roughness[0] <= look.roughness <= roughness[1]
    assert rng.bit_generator.state == twin.bit_generator.state
    assert (look.metallic, look.roughness) == (want_metallic, want_roughness)
    kept = isinstance(color, str)  # the duck is textured and keep_original_p is 1
    assert (look.rgba is None) == kept
    own = metallic is not None or roughness is not None
    assert look.parts == (() if kept and own else None)


@pytest.fixture(scope="module")
def quads(tmp_path_factory) -> Path:
    return two_quads_mesh(tmp_path_factory.mktemp("quads") / "q.ply", (200, 120, 40), (60, 90, 160))


def test_kept_colours_lit_with_pyrenders_default_values_render_the_same_pixels(quads):
    """``parts == ()`` with metallic 0.2 and roughness 0.8 is pyrender's own material for
    vertex colours: the same pixels as the mesh drawn with it."""
    default, _, _ = render_two_quads_ambient(quads, light=HEAD_ON, metallic=0.9, roughness=0.1)
    relit, _, _ = render_two_quads_ambient(
        quads, light=HEAD_ON, parts=(), metallic=0.2, roughness=0.8
    )
    assert default.any() and np.array_equal(default, relit)


@pytest.mark.parametrize("roughness", [0.2, 0.4])
def test_kept_colours_lit_as_a_metal_lose_their_diffuse_light(quads, roughness):
    """Without an environment map a metal reflects only the light's highlight: lit from the
    side, the quads' own colours give less than half the light with metallic 1 as with 0."""
    plastic, left, right = render_two_quads_ambient(
        quads, light=OBLIQUE, parts=(), metallic=0.0, roughness=roughness
    )
    metal, _, _ = render_two_quads_ambient(
        quads, light=OBLIQUE, parts=(), metallic=1.0, roughness=roughness
    )
    for mask in (left, right):  # mean linear light
        assert mask.sum() > 100
        bright = srgb_to_linear(plastic[mask] / 255.0).mean()
        assert bright > 0.05 and srgb_to_linear(metal[mask] / 255.0).mean() < 0.5 * bright
    # the orange quad stays orange, the blue one blue, as dielectrics
    assert plastic[left].mean(axis=0)[0] > plastic[left].mean(axis=0)[2]
    assert plastic[right].mean(axis=0)[2] > plastic[right].mean(axis=0)[0]


@pytest.mark.parametrize("seed", [0, 5])
def test_a_scene_with_relit_textured_meshes_renders_exact_labels_and_replays(tmp_path, seed):
    """The duck (a textured mesh) keeps its texture, lit with metallic 0; the records hold
    ``parts: []`` and replay to the same pixels."""
    overrides = [f"seed={seed}", "num_images=2", "image.width=160", "image.height=120",
                 "materials.keep_original_p=1", "objects.catalog.0.metallic=[0, 0]",
                 "objects.catalog.0.roughness=[0.3, 0.6]", "objects.count=[4, 6]",
                 "objects.balance=uniform"]  # fmt: skip
    config = load_config(None, overrides)
    ducks = [o for i in range(6) for o in sample_scene(config, load_catalog(config), i).objects
             if o.catalog_index == 0]  # fmt: skip
    assert ducks and all(o.parts == () and o.metallic == 0.0 for o in ducks)
    assert all(0.3 <= o.roughness <= 0.6 for o in ducks)
    render_dataset(config, tmp_path)
    assert check_exact(json.loads((tmp_path / "annotations.json").read_text())) > 0
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "records").glob("*.json"))]
    objects = [o for r in records for o in r["scene"]["objects"]]
    assert any(o["catalog_index"] == 0 for o in objects)
    assert all(o["parts"] == [] for o in objects if o["catalog_index"] == 0)
    assert all(o["parts"] is None for o in objects if o["catalog_index"] != 0)
    for image_id in (1, 2):
        result = replay_image(tmp_path, image_id)
        assert result.pixels_match and result.labels_match


def test_a_relit_textured_mesh_keeps_its_texture():
    """The duck (a textured mesh) with ``parts == ()`` and its own material's values renders
    the same pixels as the duck drawn with that material, and other pixels as a dielectric."""
    from dataclasses import replace

    from simgen.render.pyrender_egl import PyrenderRenderer

    config = load_config(None, ["materials.keep_original_p=1", "image.width=160",
                                "image.height=120", "objects.count=[6, 6]"])  # fmt: skip
    assets = load_catalog(config)
    samples = (sample_scene(config, assets, i) for i in range(20))
    sample = next(s for s in samples if any(o.catalog_index == 0 for o in s.objects))
    assert all(o.color is None and o.parts is None for o in sample.objects if o.catalog_index == 0)

    def render(**fields):
        objects = tuple(replace(o, **fields) if o.catalog_index == 0 else o
                        for o in sample.objects)  # fmt: skip
        with PyrenderRenderer(assets) as renderer:
            return renderer.render(replace(sample, objects=objects), 0).rgb

    with PyrenderRenderer(assets) as renderer:
        material = renderer._original(0).primitives[0].material
        texture, metallic, roughness = (material.baseColorTexture, material.metallicFactor,
                                        material.roughnessFactor)  # fmt: skip
    # the duck's OBJ material: its texture, lit as a dielectric (not pyrender's 0.2 / 0.8)
    assert texture is not None and metallic == 0.0 and roughness != 0.8
    own = render()
    assert np.array_equal(own, render(parts=(), metallic=metallic, roughness=roughness))
    assert not np.array_equal(own, render(parts=(), metallic=0.0, roughness=0.8))


def _textured_quads_obj(folder: Path, rgb: tuple[int, int, int]) -> Path:
    """The :func:`two_quads_mesh` quads as an OBJ whose MTL material holds a texture image of
    one flat sRGB colour ``rgb``."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "flat.png"), np.full((8, 8, 3), rgb[::-1], dtype=np.uint8))
    (folder / "quads.mtl").write_text("newmtl flat\nKd 1 1 1\nKs 0 0 0\nmap_Kd flat.png\n")
    quad = np.array([[0, 0, 0], [0.04, 0, 0], [0.04, 0, 0.04], [0, 0, 0.04]], dtype=float)
    lines = ["mtllib quads.mtl", "usemtl flat"]
    for offset in ([-0.045, 0.0, -0.02], [0.005, 0.0, -0.02]):
        lines += [f"v {x:.4f} {y:.4f} {z:.4f}" for x, y, z in quad + offset]
    lines += ["vt 0.5 0.5", "f 1/1 2/1 3/1", "f 1/1 3/1 4/1", "f 5/1 6/1 7/1", "f 5/1 7/1 8/1"]
    path = folder / "quads.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("rgb", [(200, 120, 40), (60, 90, 160)])
def test_a_texture_with_an_obj_material_is_lit_as_a_dielectric(tmp_path, rgb):
    """pyrender reads an OBJ material as a metal (glTF's default metallic 1); kept in its own
    texture, a flat-coloured OBJ lit from the side renders like vertex colours of that colour
    lit as a dielectric, not like a metal. (pyrender's texture and vertex-colour paths differ
    by up to 11 levels at this light, measured; a metal by up to 46.)"""
    textured = _textured_quads_obj(tmp_path / "obj", rgb)
    image, left, right = render_two_quads_ambient(textured, light=OBLIQUE)
    coloured = two_quads_mesh(tmp_path / "quads.ply", rgb, rgb)
    looks = {
        metallic: render_two_quads_ambient(
            coloured, light=OBLIQUE, parts=(), metallic=metallic, roughness=(2 / 3) ** 0.25
        )[0]
        for metallic in (0.0, 1.0)
    }
    inner = left | right
    assert inner.sum() > 200 and looks[0.0][inner].mean() > 20
    for metallic, reference in looks.items():
        difference = np.abs(image[inner].astype(int) - reference[inner].astype(int)).max()
        assert (difference <= 12) == (metallic == 0.0)
