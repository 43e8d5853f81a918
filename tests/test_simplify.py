"""simgen.simplify and catalog entries' ``simplify``: fewer triangles, same shape and colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("fast_simplification")

from simgen.assets import load_catalog  # noqa: E402
from simgen.config import MeshSource, load_config  # noqa: E402
from simgen.errors import SimgenError  # noqa: E402
from simgen.simplify import collapse_vertices, mean_colors, simplify_mesh  # noqa: E402


def _sphere(subdivisions: int = 4):
    return trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)


@pytest.mark.parametrize("fraction", [0.5, 0.25, 0.1])
def test_collapse_keeps_the_fraction_and_the_shape(fraction: float) -> None:
    sphere = _sphere()  # 5,120 triangles, edges of about 0.06
    vertices, faces, mapping = collapse_vertices(sphere.vertices, sphere.faces, fraction)
    assert abs(len(faces) - fraction * len(sphere.faces)) <= 0.02 * len(sphere.faces)
    assert faces.dtype == np.int64 and vertices.dtype == np.float64
    assert faces.min() >= 0 and faces.max() < len(vertices)
    # every original vertex went into a kept one, and every kept vertex holds at least one
    assert mapping.shape == (len(sphere.vertices),) and mapping.min() >= 0
    assert set(np.unique(mapping)) == set(range(len(vertices)))
    radius = np.linalg.norm(vertices, axis=1)
    assert np.all(np.abs(radius - 1.0) < 0.02)
    simplified = trimesh.Trimesh(vertices, faces, process=False)
    assert simplified.is_watertight
    assert simplified.volume == pytest.approx(sphere.volume, rel=0.03)


def test_collapse_is_deterministic() -> None:
    sphere = _sphere()
    first = collapse_vertices(sphere.vertices, sphere.faces, 0.3)
    again = collapse_vertices(sphere.vertices.copy(), sphere.faces.copy(), 0.3)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)


def test_fraction_one_keeps_everything() -> None:
    sphere = _sphere(2)
    vertices, faces, mapping = collapse_vertices(sphere.vertices, sphere.faces, 1.0)
    assert np.array_equal(vertices, sphere.vertices) and np.array_equal(faces, sphere.faces)
    assert np.array_equal(mapping, np.arange(len(sphere.vertices)))
    assert simplify_mesh(sphere, 1.0) is sphere


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_fraction_outside_zero_one_is_refused(fraction: float) -> None:
    sphere = _sphere(1)
    with pytest.raises(ValueError, match="fraction"):
        collapse_vertices(sphere.vertices, sphere.faces, fraction)


def test_mean_colors_rounds_each_kept_vertexs_mean() -> None:
    colors = np.array([[0, 10, 255, 255], [1, 20, 255, 255], [200, 0, 0, 255], [9, 9, 9, 9]])
    mapping = np.array([0, 0, 1, -1])  # the last vertex was used by no face
    got = mean_colors(colors.astype(np.uint8), mapping, 3)
    assert got.dtype == np.uint8
    assert got.tolist() == [[0, 15, 255, 255], [200, 0, 0, 255], [0, 0, 0, 0]]  # 0.5 -> 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vertex_colours_follow_the_surface(seed: int) -> None:
    """Two colours split at a random plane: after simplifying, a kept vertex far from the split
    (farther than the collapses move anything) keeps its side's colour exactly."""
    rng = np.random.default_rng(seed)
    sphere = _sphere()
    normal = rng.normal(size=3)
    normal /= np.linalg.norm(normal)
    side = sphere.vertices @ normal > 0
    colors = np.where(side[:, None], [[250, 20, 20, 255]], [[20, 20, 250, 255]]).astype(np.uint8)
    painted = trimesh.Trimesh(sphere.vertices, sphere.faces, vertex_colors=colors, process=False)
    simplified = simplify_mesh(painted, 0.25)
    assert simplified.visual.kind == "vertex"
    kept = np.asarray(simplified.visual.vertex_colors)
    distance = np.asarray(simplified.vertices) @ normal
    far = np.abs(distance) > 0.3
    assert far.sum() > 100
    expected = np.where((distance > 0)[:, None], [[250, 20, 20, 255]], [[20, 20, 250, 255]])
    assert np.array_equal(kept[far], expected[far])


def test_a_mesh_without_colours_stays_without() -> None:
    simplified = simplify_mesh(_sphere(), 0.5)
    assert getattr(simplified.visual, "kind", None) is None


def test_face_colours_are_refused() -> None:
    sphere = _sphere(2)
    sphere.visual.face_colors = [255, 0, 0, 255]
    with pytest.raises(ValueError, match="face colours"):
        simplify_mesh(sphere, 0.5)


def _write_ply(path: Path, mesh) -> Path:
    path.write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="ascii"))
    return path


def _scene(tmp_path: Path, entry: str) -> Path:
    scene = tmp_path / "scene.yaml"
    scene.write_text(f"objects:\n  catalog:\n    - {entry}\n")
    return scene


def test_catalog_entry_loads_the_simplified_mesh(tmp_path: Path) -> None:
    sphere = _sphere()
    sphere.visual.vertex_colors = np.tile([[30, 200, 90, 255]], (len(sphere.vertices), 1))
    _write_ply(tmp_path / "ball.ply", sphere)
    full = load_catalog(
        load_config(_scene(tmp_path, "{category: ball, mesh: ball.ply}")),
        source=tmp_path / "scene.yaml",
    )[0]
    scene = _scene(tmp_path, "{category: ball, mesh: ball.ply, simplify: 0.25}")
    asset = load_catalog(load_config(scene), source=scene)[0]
    assert len(full.faces) == len(sphere.faces)
    assert abs(len(asset.faces) - len(sphere.faces) // 4) <= 0.02 * len(sphere.faces)
    assert asset.textured  # the colours came along, averaged: one colour stays that colour
    assert np.all(np.asarray(asset.mesh.visual.vertex_colors) == [30, 200, 90, 255])
    assert np.array_equal(asset.vertices, np.asarray(asset.mesh.vertices))
    # centred on its bounding box like any entry
    lo, hi = asset.mesh.bounds
    assert np.allclose((lo + hi) / 2, 0.0, atol=1e-12)


def test_face_coloured_file_names_the_simplify_field(tmp_path: Path) -> None:
    sphere = _sphere(2)
    sphere.visual.face_colors = [255, 0, 0, 255]
    _write_ply(tmp_path / "red.ply", sphere)
    scene = _scene(tmp_path, "{category: red, mesh: red.ply, simplify: 0.5}")
    with pytest.raises(SimgenError) as info:
        load_catalog(load_config(scene), source=scene)
    assert info.value.field == "objects.catalog.0.simplify"
    assert "face colours" in str(info.value)


@pytest.mark.parametrize("value", [0, 1.5])
def test_simplify_outside_zero_one_is_a_config_error(value: float) -> None:
    with pytest.raises(ValueError, match="simplify"):
        MeshSource.model_validate({"mesh": "a.ply", "simplify": value})


def test_simplify_is_for_mesh_files() -> None:
    with pytest.raises(ValueError, match="mesh files"):
        MeshSource.model_validate({"primitive": "box", "size": 0.1, "simplify": 0.5})


@pytest.mark.parametrize("seed", [0, 1])
def test_units_and_placement_do_not_change_the_collapses(seed: int) -> None:
    """The same bumpy ball in metres, in millimetres and moved gives the same collapses
    (fast-simplification's thresholds are absolute; simgen scales every mesh to one span)."""
    rng = np.random.default_rng(seed)
    sphere = _sphere()
    bumpy = sphere.vertices * rng.uniform(0.97, 1.03, (len(sphere.vertices), 1))
    first = collapse_vertices(bumpy * 0.1, sphere.faces, 0.25)
    for scale, shift in [(100.0, 0.0), (0.1, 5.0)]:
        vertices, faces, mapping = collapse_vertices(bumpy * scale + shift, sphere.faces, 0.25)
        assert np.array_equal(faces, first[1]) and np.array_equal(mapping, first[2])
        assert np.allclose((vertices - shift) / scale, first[0] / 0.1, atol=1e-9)


def test_a_texture_image_is_refused() -> None:
    sphere = _sphere(2)
    image = trimesh.visual.texture.TextureVisuals(
        uv=np.zeros((len(sphere.vertices), 2)),
        material=trimesh.visual.material.SimpleMaterial(image=_pil_image()),
    )
    textured = trimesh.Trimesh(sphere.vertices, sphere.faces, visual=image, process=False)
    with pytest.raises(ValueError, match="a texture image"):
        simplify_mesh(textured, 0.5)


def _pil_image():
    from PIL import Image

    return Image.new("RGB", (4, 4), (200, 10, 10))
