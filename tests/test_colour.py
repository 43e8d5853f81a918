"""Colour management: every sRGB input (vertex colours, material colours, image textures)
renders back to itself under white ambient light of level 1, and the colour helpers invert."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import trimesh
from scipy import ndimage

from simgen.assets import load_entry
from simgen.config import ObjectEntry
from simgen.geometry import look_at
from simgen.render.colour import linear_to_srgb, srgb_to_linear
from simgen.render.pyrender_egl import PyrenderRenderer
from simgen.scene import CameraView, ObjectInstance, SceneSample
from tests.helpers import SHARED_DATASETS, require_shared

W, H = 160, 120
K = np.array([[300.0, 0.0, 79.5], [0.0, 300.0, 59.5], [0.0, 0.0, 1.0]])
LMO_MODELS = SHARED_DATASETS / "lmo-dev" / "models"
COLOURS = [(0.05, 0.4, 0.9), (0.2, 0.2, 0.2), (0.8, 0.5, 0.1), (0.02, 0.98, 0.6)]


def test_srgb_conversions_invert_and_match_the_standard():
    levels = np.linspace(0.0, 1.0, 256)
    assert np.abs(linear_to_srgb(srgb_to_linear(levels)) - levels).max() < 1e-5
    # IEC 61966-2-1 reference points: sRGB 0.5 -> linear 0.2140, the linear toe below 0.04045.
    assert srgb_to_linear(np.array([0.5]))[0] == pytest.approx(0.21404, abs=1e-4)
    assert srgb_to_linear(np.array([0.04]))[0] == pytest.approx(0.04 / 12.92, rel=1e-6)


def _ambient_scene(obj: ObjectInstance, distance: float) -> SceneSample:
    """One object in front of the camera, lit by white ambient light of level 1 only."""
    view = CameraView(
        width=W, height=H, K=K, pose=look_at(np.array([0.0, -distance, 0.0]), np.zeros(3))
    )
    return SceneSample(
        scene_index=0,
        seed=0,
        objects=(obj,),
        lights=(),
        views=(view,),
        ground_size=0.0,
        ground_color=(0.0, 0.0, 0.0, 1.0),
        background_color=(0.0, 0.0, 0.0),
        ambient=1.0,
        shadows=False,
    )


def _instance(color=None, texture=None, pose=None) -> ObjectInstance:
    return ObjectInstance(
        instance_id=1,
        catalog_index=0,
        category="patch",
        scale=1.0,
        color=color,
        metallic=0.0,
        roughness=1.0,
        pose=np.eye(4) if pose is None else pose,
        texture=texture,
    )


def _inner_pixels(output) -> np.ndarray:
    """(N, 3) int RGB of the object's pixels 3 px away from its outline."""
    inner = ndimage.binary_erosion(output.instance_ids == 1, iterations=3)
    assert inner.sum() > 500
    return output.rgb[inner].astype(int)


def _expected(colour) -> np.ndarray:
    return np.round(np.asarray(colour) * 255.0)


@pytest.mark.parametrize("colour", COLOURS)
def test_material_colour_renders_to_itself(colour):
    asset = load_entry(ObjectEntry(category="patch", primitive="box", size=0.1))
    with PyrenderRenderer([asset]) as renderer:
        output = renderer.render(_ambient_scene(_instance(color=(*colour, 1.0)), 0.3), 0)
    assert np.abs(_inner_pixels(output) - _expected(colour)).max() <= 2


@pytest.mark.parametrize("colour", COLOURS)
def test_vertex_colours_render_to_themselves(tmp_path, colour):
    box = trimesh.creation.box(extents=(0.1, 0.1, 0.1))
    rgba = np.array([*_expected(colour), 255], dtype=np.uint8)
    box.visual.vertex_colors = np.tile(rgba, (len(box.vertices), 1))
    path = tmp_path / "patch.ply"
    box.export(path)
    asset = load_entry(ObjectEntry(category="patch", mesh=str(path)))
    assert asset.textured
    with PyrenderRenderer([asset]) as renderer:
        output = renderer.render(_ambient_scene(_instance(), 0.3), 0)
    assert np.abs(_inner_pixels(output) - _expected(colour)).max() <= 2


@pytest.mark.parametrize("colour", COLOURS)
def test_image_texture_renders_to_itself(tmp_path, colour):
    photo = tmp_path / "photo.png"
    bgr = np.full((64, 64, 3), _expected(colour)[::-1], dtype=np.uint8)
    cv2.imwrite(str(photo), bgr)
    texture = {"kind": "image", "size": 64, "path": str(photo), "crop": [0, 0, 64, 64],
               "flip": False, "rotate90": 0}  # fmt: skip
    asset = load_entry(ObjectEntry(category="patch", primitive="box", size=0.1))
    instance = _instance(color=(1.0, 1.0, 1.0, 1.0), texture=texture)
    with PyrenderRenderer([asset]) as renderer:
        output = renderer.render(_ambient_scene(instance, 0.3), 0)
    assert np.abs(_inner_pixels(output) - _expected(colour)).max() <= 2


@pytest.mark.parametrize("obj_id", [1, 8, 10])
def test_lmo_model_renders_its_ply_vertex_colours(obj_id):
    """Under ambient light 1, the pixels of a scanned LM-O model have the colours of its PLY
    vertices: the median pixel of views from six sides matches the median vertex colour."""
    path = require_shared(LMO_MODELS) / f"obj_{obj_id:06d}.ply"
    asset = load_entry(ObjectEntry(category="lmo", mesh=str(path), units="mm"))
    vertex_colours = np.asarray(asset.mesh.visual.vertex_colors)[:, :3].astype(int)
    pixels = []
    with PyrenderRenderer([asset]) as renderer:
        for axis in np.eye(3):
            for sign in (1.0, -1.0):
                pose = np.eye(4)
                # Turn the object so that each of its six sides faces the camera (-y).
                pose[:3, :3] = _rotation_to(-sign * axis)
                output = renderer.render(_ambient_scene(_instance(pose=pose), 0.6), 0)
                pixels.append(_inner_pixels(output))
    rendered = np.median(np.concatenate(pixels), axis=0)
    assert np.abs(rendered - np.median(vertex_colours, axis=0)).max() <= 6, rendered


def _rotation_to(direction: np.ndarray) -> np.ndarray:
    """A rotation taking the unit vector ``direction`` to -y (towards the camera)."""
    target = np.array([0.0, -1.0, 0.0])
    v = np.cross(direction, target)
    c = float(direction @ target)
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)
