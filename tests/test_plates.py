"""Number plates on vehicle meshes (``plates`` of a catalog entry, :mod:`simgen.plates`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simgen.assets import load_entry
from simgen.config import ObjectEntry, load_config
from simgen.errors import SimgenError
from simgen.plates import (
    PLATE_RGBA,
    PLATE_SIZE,
    STANDOFF,
    TEXT_RGBA,
    plate_geometry,
    plate_mesh,
    surface_x,
)

KITTI = Path(__file__).resolve().parents[1] / "scenes" / "kitti.yaml"


def _box(extents=(4.0, 1.8, 1.4)):
    import trimesh

    mesh = trimesh.creation.box(extents=extents)
    colours = np.tile(np.array([90, 20, 20, 255], np.uint8), (len(mesh.vertices), 1))
    return trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colours, process=False)


def test_rays_along_x_meet_a_box_at_its_faces_and_miss_beside_it():
    box = _box()
    y = np.array([0.0, 0.5, 0.0, 2.0])
    z = np.array([0.0, -0.3, 0.69, 0.0])
    front = surface_x(box.vertices, box.faces, y, z, front=True)
    back = surface_x(box.vertices, box.faces, y, z, front=False)
    np.testing.assert_allclose(front[:3], 2.0)
    np.testing.assert_allclose(back[:3], -2.0)
    assert np.isnan(front[3]) and np.isnan(back[3])


def test_a_sloped_front_puts_the_plate_at_its_outermost_point():
    """A wedge whose front leans back with height: the plate stands where its lowest corners
    meet the surface, so no part of it sinks into the mesh."""
    import trimesh

    v = np.array([[-2, -1, 0], [2, -1, 0], [2, 1, 0], [-2, 1, 0],
                  [-2, -1, 1], [1, -1, 1], [1, 1, 1], [-2, 1, 1]], float)  # fmt: skip
    hull = trimesh.convex.convex_hull(v)
    verts = plate_geometry(np.asarray(hull.vertices), np.asarray(hull.faces), (0.5, 0.5))[0]
    zc, h = 0.5, PLATE_SIZE[1] / 2
    front_x = 2.0 - (zc - h)  # the surface x = 2 - z at the plate's bottom edge
    assert verts[:4, 0] == pytest.approx(np.full(4, front_x + STANDOFF))


@pytest.mark.parametrize("heights", [(0.28, 0.4), (0.5, 0.2)])
def test_plates_stand_on_both_ends_facing_out(heights):
    box = _box()
    verts, faces, colours = plate_geometry(np.asarray(box.vertices), np.asarray(box.faces), heights)
    assert verts.shape == (16, 3) and faces.shape == (8, 3) and colours.dtype == np.uint8
    front, back = verts[:8], verts[8:]
    assert front[:4, 0] == pytest.approx([2.0 + STANDOFF] * 4)
    assert front[4:, 0] == pytest.approx([2.0 + STANDOFF + 0.001] * 4)  # the band, in front
    assert back[:4, 0] == pytest.approx([-2.0 - STANDOFF] * 4)
    for plate, height in ((front, heights[0]), (back, heights[1])):
        assert plate[:4, 2].mean() == pytest.approx(-0.7 + 1.4 * height)
        assert np.ptp(plate[:4, 1]) == pytest.approx(PLATE_SIZE[0])
        assert np.ptp(plate[:4, 2]) == pytest.approx(PLATE_SIZE[1])
    tri = verts[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    np.testing.assert_array_equal(np.sign(normals[:, 0]), [1, 1, 1, 1, -1, -1, -1, -1])
    assert [tuple(c) for c in colours[::4]] == [PLATE_RGBA, TEXT_RGBA] * 2


def test_an_asset_keeps_its_mesh_and_adds_the_plates_last():
    entry = ObjectEntry(category="Car", mesh="assets:driving/cars/q_suv.ply", plates=(0.28, 0.4))
    plain = load_entry(ObjectEntry(category="Car", mesh="assets:driving/cars/q_suv.ply"))
    plated = load_entry(entry)
    n, m = len(plain.vertices), len(plain.faces)
    np.testing.assert_array_equal(plated.vertices[:n], plain.vertices)
    np.testing.assert_array_equal(plated.faces[:m], plain.faces)
    np.testing.assert_array_equal(plated.mesh.vertices, plain.mesh.vertices)  # drawn body
    decals = plate_mesh(plain.vertices, plain.faces, (0.28, 0.4))
    np.testing.assert_array_equal(plated.vertices[n:], decals.vertices)
    np.testing.assert_array_equal(plated.faces[m:], np.asarray(decals.faces) + n)
    assert plated.decals is not None and plain.decals is None


def test_no_plate_where_no_ray_meets_the_mesh():
    box = _box()
    assert plate_mesh(np.asarray(box.vertices), np.asarray(box.faces), (0.3, 0.4)) is not None
    far = np.asarray(box.vertices) + np.array([0.0, 5.0, 0.0])  # the rays at y = 0 miss it
    assert plate_mesh(far, np.asarray(box.faces), (0.3, 0.4)) is None


def test_a_library_car_gets_plates_within_its_length():
    entry = ObjectEntry(category="Car", mesh="assets:driving/cars/q_suv.ply", plates=(0.28, 0.4))
    plain = load_entry(ObjectEntry(category="Car", mesh="assets:driving/cars/q_suv.ply"))
    plated = load_entry(entry)
    extra = plated.vertices[len(plain.vertices) :]
    assert len(extra) == 16
    half = plain.extents[0] / 2
    assert np.all(np.abs(extra[:, 0]) <= half + STANDOFF + 0.001 + 1e-9)
    assert np.all(np.abs(extra[:, 0]) > 0.5 * half)  # on the ends, not inside the car


def test_plate_heights_must_be_fractions():
    with pytest.raises(SimgenError, match="plates"):
        load_config(KITTI, ["objects.catalog.0.plates=[0.3,1.5]"])


@pytest.mark.parametrize("color", [(0.8, 0.1, 0.1), (0.1, 0.2, 0.7)])
def test_a_flat_coloured_car_renders_its_plate_white_and_labels_it_as_itself(color):
    """A car-sized box in one flat colour, seen head-on from 6 m in front of its plate, lit by
    white ambient light of level 1 only: the body renders in its colour, the plate and its
    band in theirs (within 2 levels), and every one of those pixels is the instance's."""
    from simgen.geometry import look_at
    from simgen.render.pyrender_egl import PyrenderRenderer
    from simgen.scene import CameraView, ObjectInstance, SceneSample

    entry = ObjectEntry(
        category="Car", primitive="box", aspect=(4.0, 1.8, 1.4), size=4.0, plates=(0.5, 0.5)
    )
    asset = load_entry(entry)
    obj = ObjectInstance(instance_id=1, catalog_index=0, category="Car", scale=1.0,
                         pose=np.eye(4), color=(*color, 1.0), metallic=0.0,
                         roughness=1.0)  # fmt: skip
    K = np.array([[600.0, 0.0, 79.5], [0.0, 600.0, 59.5], [0.0, 0.0, 1.0]])
    eye = np.array([8.0, 0.0, 0.0])
    view = CameraView(width=160, height=120, K=K, pose=look_at(eye, np.zeros(3)))
    sample = SceneSample(scene_index=0, seed=0, objects=(obj,), lights=(), views=(view,),
                         ground_size=0.0, ground_color=(0.0, 0.0, 0.0, 1.0),
                         background_color=(0.0, 0.0, 0.0), ambient=1.0, shadows=False)  # fmt: skip
    with PyrenderRenderer([asset]) as renderer:
        output = renderer.render(sample, 0)
    rgb = output.rgb.astype(int)
    px = 600.0 / (8.0 - 2.0 - STANDOFF)  # pixels per metre on the plate
    white = [(60, round(79.5 + s * 0.23 * px)) for s in (-1, 1)]  # beside the band
    band = [(60, 80), (59, 79)]
    body = [(round(59.5 + 0.4 * px), 80), (round(59.5 - 0.4 * px), 80)]
    for (v, u), rgba in [*((p, PLATE_RGBA) for p in white), *((p, TEXT_RGBA) for p in band)]:
        assert np.abs(rgb[v, u] - np.array(rgba[:3])).max() <= 2, (v, u, rgb[v, u])
    for v, u in body:
        assert np.abs(rgb[v, u] - np.round(np.array(color) * 255)).max() <= 2
    for v, u in [*white, *band, *body]:
        assert output.instance_ids[v, u] == 1


@pytest.mark.parametrize("colors", [(None, None), (None, (0.8, 0.1, 0.1, 1.0))])
def test_instances_of_one_plated_asset_render_side_by_side(colors):
    """Two instances of one plated asset in one scene, keeping their own colours or not: each
    is drawn with its plates (pyrender binds a primitive to one mesh only)."""
    from simgen.geometry import look_at, pose_matrix
    from simgen.render.pyrender_egl import PyrenderRenderer
    from simgen.scene import CameraView, ObjectInstance, SceneSample

    entry = ObjectEntry(
        category="Car", primitive="box", aspect=(4.0, 1.8, 1.4), size=4.0, plates=(0.5, 0.5)
    )
    objects = tuple(
        ObjectInstance(
            instance_id=i + 1,
            catalog_index=0,
            category="Car",
            scale=1.0,
            pose=pose_matrix(np.eye(3), np.array([0.0, y, 0.0])),
            color=color,
            metallic=0.0,
            roughness=1.0,
        )
        for i, (y, color) in enumerate(zip((-1.2, 1.2), colors, strict=True))
    )
    K = np.array([[300.0, 0.0, 79.5], [0.0, 300.0, 59.5], [0.0, 0.0, 1.0]])
    view = CameraView(width=160, height=120, K=K, pose=look_at(np.array([12.0, 0, 0]), np.zeros(3)))
    sample = SceneSample(scene_index=0, seed=0, objects=objects, lights=(), views=(view,),
                         ground_size=0.0, ground_color=(0.0, 0.0, 0.0, 1.0),
                         background_color=(0.0, 0.0, 0.0), ambient=1.0, shadows=False)  # fmt: skip
    with PyrenderRenderer([load_entry(entry)]) as renderer:
        for _ in range(2):  # the second scene reuses the cached meshes
            output = renderer.render(sample, 0)
            rgb = output.rgb.astype(int)
            for obj in objects:
                plate = output.instance_ids == obj.instance_id
                bright = (np.abs(rgb - np.array(PLATE_RGBA[:3])).max(axis=2) <= 2) & plate
                assert bright.sum() >= 10  # its plate, white, labelled as itself
