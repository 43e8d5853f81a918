"""Analytic geometry: primitives at known poses with a known K project where they must."""

from __future__ import annotations

import numpy as np
import pytest

import simgen.labels
from simgen.assets import load_entry
from simgen.config import ObjectEntry
from simgen.geometry import project
from simgen.labels import (
    annotate,
    camera_points,
    mask_bbox,
    paint_runs,
    rasterize_triangles,
    silhouette,
    triangle_runs,
)
from simgen.randomize.pose import uniform_rotation
from simgen.render.pyrender_egl import PyrenderRenderer
from simgen.scene import CameraView, ObjectInstance, SceneSample

W, H = 320, 240
K = np.array([[300.0, 0.0, 161.3], [0.0, 310.0, 118.6], [0.0, 0.0, 1.0]])


def _scene(asset_index: int, pose: np.ndarray) -> SceneSample:
    """One object seen by a camera at the world origin (world frame = camera frame)."""
    obj = ObjectInstance(
        instance_id=1,
        catalog_index=asset_index,
        category="thing",
        scale=1.0,
        color=(0.8, 0.3, 0.2, 1.0),
        metallic=0.0,
        roughness=0.5,
        pose=pose,
    )
    view = CameraView(width=W, height=H, K=K, pose=np.eye(4))
    return SceneSample(
        scene_index=0,
        seed=0,
        objects=(obj,),
        lights=(),
        views=(view,),
        ground_size=0.0,
        ground_color=(0.5, 0.5, 0.5, 1.0),
        background_color=(0.0, 0.0, 0.0),
        ambient=1.0,
        shadows=False,
    )


@pytest.fixture(scope="module")
def assets():
    return [
        load_entry(ObjectEntry(category="sphere", primitive="sphere", size=0.2)),
        load_entry(ObjectEntry(category="cube", primitive="box", size=0.2)),
    ]


@pytest.fixture(scope="module")
def renderer(assets):
    with PyrenderRenderer(assets) as r:
        yield r


def _boundary_distance_ok(mask: np.ndarray, expected: np.ndarray, distance: np.ndarray) -> None:
    """Every pixel where ``mask`` and ``expected`` differ lies within 1 px of the true edge."""
    differ = mask != expected
    assert np.all(np.abs(distance[differ]) <= 1.0), np.abs(distance[differ]).max()


@pytest.mark.parametrize(
    "centre", [(0.0, 0.0, 1.0), (0.12, -0.05, 1.3), (-0.2, 0.1, 0.9), (0.35, 0.2, 1.5)]
)
def test_sphere_projects_to_expected_conic(renderer, assets, centre):
    centre = np.asarray(centre)
    radius = 0.1
    pose = np.eye(4)
    pose[:3, 3] = centre
    sample = _scene(0, pose)
    output = renderer.render(sample, 0, color=False)
    (instance,) = annotate(sample, 0, output, assets)

    # A pixel centre is inside the sphere's silhouette when its viewing ray passes within
    # `radius` of the centre. Signed distance is converted to pixels via the local scale.
    cols, rows = np.meshgrid(np.arange(W), np.arange(H))
    rays = np.stack(
        [(cols - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], np.ones_like(cols)], -1
    )
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    along = rays @ centre
    miss = np.sqrt(np.maximum(centre @ centre - along**2, 0.0))
    expected = miss <= radius
    pixels_per_metre = K[0, 0] / centre[2]
    distance = (miss - radius) * pixels_per_metre
    _boundary_distance_ok(instance.mask, expected, distance)
    _boundary_distance_ok(output.instance_ids == 1, expected, distance)
    ex = mask_bbox(expected)
    assert all(abs(a - b) <= 1 for a, b in zip(instance.bbox, ex, strict=True))
    assert all(abs(a - b) <= 1 for a, b in zip(instance.amodal_bbox, ex, strict=True))
    assert instance.visib_fract == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.1, -0.07), (-0.13, 0.04)])
def test_cube_facing_camera_projects_to_expected_box(renderer, assets, offset):
    half, depth = 0.1, 1.2
    pose = np.eye(4)
    pose[:3, 3] = (offset[0], offset[1], depth)
    sample = _scene(1, pose)
    output = renderer.render(sample, 0, color=False)
    (instance,) = annotate(sample, 0, output, assets)
    # The front face (z = depth - half) hides the smaller back face: the silhouette is the
    # front face's projection. Pixel (col,row) is inside when its centre is within it.
    z = depth - half
    u0 = K[0, 0] * (offset[0] - half) / z + K[0, 2]
    u1 = K[0, 0] * (offset[0] + half) / z + K[0, 2]
    v0 = K[1, 1] * (offset[1] - half) / z + K[1, 2]
    v1 = K[1, 1] * (offset[1] + half) / z + K[1, 2]
    expected_box = (
        int(np.ceil(u0)),
        int(np.ceil(v0)),
        int(np.floor(u1)) + 1,
        int(np.floor(v1)) + 1,
    )
    for got in (instance.bbox, instance.amodal_bbox):
        assert all(abs(a - b) <= 1 for a, b in zip(got, expected_box, strict=True)), got
    x0, y0, x1, y1 = expected_box
    assert instance.area == pytest.approx((x1 - x0) * (y1 - y0), abs=2 * ((x1 - x0) + (y1 - y0)))


def test_rasterizer_counts_pixel_centres():
    # A square from (0.5, 0.5) to (3.5, 3.5) covers pixel centres 1, 2, 3 in each axis.
    uv = np.array([[0.5, 0.5], [3.5, 0.5], [3.5, 3.5], [0.5, 3.5]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    mask = rasterize_triangles(uv, faces, 6, 5)
    expected = np.zeros((5, 6), dtype=bool)
    expected[1:4, 1:4] = True
    np.testing.assert_array_equal(mask, expected)


def test_rasterizer_clips_to_image_and_handles_both_windings():
    uv = np.array([[-10.0, -10.0], [30.0, -10.0], [-10.0, 30.0]])
    for faces in (np.array([[0, 1, 2]]), np.array([[0, 2, 1]])):
        mask = rasterize_triangles(uv, faces, 8, 6)
        cols, rows = np.meshgrid(np.arange(8), np.arange(6))
        np.testing.assert_array_equal(mask, (cols + rows) <= 20)


def _per_pixel_rasterization(uv: np.ndarray, faces: np.ndarray, width: int, height: int):
    """Reference: every pixel centre tested against every triangle's three edge functions."""
    px, py = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    mask = np.zeros((height, width), dtype=bool)
    for face in faces:
        tri = uv[face]
        a, b, c = tri
        if abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) <= 1e-12:
            continue
        edges = [
            (q[0] - p[0]) * (py - p[1]) - (q[1] - p[1]) * (px - p[0])
            for p, q in ((a, b), (b, c), (c, a))
        ]
        inside = np.all([e >= 0 for e in edges], axis=0) | np.all([e <= 0 for e in edges], axis=0)
        lo, hi = np.ceil(tri.min(axis=0) - 1e-9), np.floor(tri.max(axis=0) + 1e-9)
        mask |= inside & (px >= lo[0]) & (px <= hi[0]) & (py >= lo[1]) & (py <= hi[1])
    return mask


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "vertices", ["uniform", "integer", "half", "flat_edges", "slivers", "far", "thin"]
)
def test_rasterizer_equals_a_per_pixel_test(seed, vertices):
    # Row runs give exactly the pixel centres a per-pixel edge-function test accepts, also
    # for centres on edges and vertices, horizontal edges, near-degenerate triangles (where
    # both windings are run) and triangles reaching far beyond the image.
    rng = np.random.default_rng(seed)
    for _ in range(40):
        width, height = (int(v) for v in rng.integers(1, 30, size=2))
        n = int(rng.integers(3, 20))
        if vertices == "uniform":
            uv = rng.uniform(-10, 40, (n, 2))
        elif vertices == "integer":
            uv = rng.integers(-5, 35, (n, 2)).astype(np.float64)
        elif vertices == "half":
            uv = rng.integers(-10, 70, (n, 2)) / 2.0
        elif vertices == "flat_edges":
            uv = rng.uniform(-5, 35, (n, 2))
            uv[1::2, 1] = uv[0::2, 1][: len(uv[1::2])]
        elif vertices == "far":
            uv = rng.uniform(-10, 40, (n, 2))
            uv[::2] = rng.uniform(-1e5, 1e5, (len(uv[::2]), 2))
        elif vertices == "thin":  # long needles through pixel centres, of either winding
            uv = rng.integers(-5, 35, (n, 2)).astype(np.float64)
            uv[1::2] = uv[0::2][: len(uv[1::2])] + rng.integers(-30, 30, (len(uv[1::2]), 2))
            uv[2::3] += 10 ** rng.uniform(-9, -5, (len(uv[2::3]), 2))
        else:
            base = rng.uniform(0, 25, (n, 2))
            uv = base.copy()
            uv[2::3] = base[0::3][: len(uv[2::3])] + 10 ** rng.uniform(-13, -2, (len(uv[2::3]), 1))
        faces = rng.integers(0, n, (int(rng.integers(1, 25)), 3))
        np.testing.assert_array_equal(
            rasterize_triangles(uv, faces, width, height),
            _per_pixel_rasterization(uv, faces, width, height),
        )


def _view_at_origin(width: int, height: int, intrinsics: tuple[float, float, float, float]):
    """A camera at the origin looking down +z with ``(fx, fy, cx, cy)``."""
    fx, fy, cx, cy = intrinsics
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    return CameraView(width=width, height=height, K=K, pose=np.eye(4))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("asset_index", [0, 1])
def test_silhouette_box_reaches_past_the_border(assets, seed, asset_index):
    # An object cut by the border: its mask is the silhouette inside the image, its box the
    # tight box of the whole silhouette (pixel centres past the border too) clipped to the
    # image, as a per-pixel test over a canvas one image size beyond each border gives them.
    width, height = 40, 30
    view = _view_at_origin(width, height, (60.0, 63.0, 20.3, 14.6))
    rng = np.random.default_rng(seed)
    asset = assets[asset_index]
    for _ in range(4):
        pose = np.eye(4)
        pose[:3, :3] = uniform_rotation(rng)
        pose[:3, 3] = (rng.uniform(-0.45, 0.45), rng.uniform(-0.35, 0.35), rng.uniform(0.7, 1.2))
        mask, box = silhouette(asset, pose, 1.0, view)
        uv = project(view.K, camera_points(asset, pose, 1.0, view))
        canvas = _per_pixel_rasterization(
            uv + np.array([width, height]), asset.faces, 3 * width, 3 * height
        )
        np.testing.assert_array_equal(mask, canvas[height : 2 * height, width : 2 * width])
        if not canvas.any():
            assert box is None
            continue
        x0, y0, x1, y1 = mask_bbox(canvas)
        expected = (
            min(max(x0 - width, 0), width),
            min(max(y0 - height, 0), height),
            min(max(x1 - width, 0), width),
            min(max(y1 - height, 0), height),
        )
        if expected[0] >= expected[2] or expected[1] >= expected[3]:
            assert box is None
        else:
            assert box == expected


def _whole_canvas_silhouette(asset, pose, view):
    """The silhouette as it was found before only the triangles that can change the box were
    walked past the image: every triangle, every row of the canvas, the same coordinates."""
    width, height = view.width, view.height
    cam = camera_points(asset, pose, 1.0, view)
    front = cam[:, 2] > view.znear
    faces = asset.faces[front[asset.faces].all(axis=1)]
    uv = np.zeros((len(cam), 2))
    uv[front] = project(view.K, cam[front])
    u, v = uv[np.unique(faces), 0], uv[np.unique(faces), 1]
    x_lo = int(np.clip(np.floor(u.min()), -width, 0))
    y_lo = int(np.clip(np.floor(v.min()), -height, 0))
    x_hi = int(np.clip(np.ceil(u.max()), width - 1, 2 * width))
    y_hi = int(np.clip(np.ceil(v.max()), height - 1, 2 * height))
    rows, first, last = triangle_runs(uv - (x_lo, y_lo), faces, x_hi - x_lo + 1, y_hi - y_lo + 1)
    rows, first, last = rows + y_lo, first + x_lo, last + x_lo
    inside = (rows >= 0) & (rows < height) & (last >= 0) & (first < width)
    mask = paint_runs(
        rows[inside],
        np.maximum(first[inside], 0),
        np.minimum(last[inside], width - 1),
        width,
        height,
    )
    if len(rows) == 0:
        return mask, None
    box = (
        min(max(int(first.min()), 0), width),
        min(max(int(rows.min()), 0), height),
        min(max(int(last.max()) + 1, 0), width),
        min(max(int(rows.max()) + 1, 0), height),
    )
    return mask, (None if box[0] >= box[2] or box[1] >= box[3] else box)


@pytest.mark.parametrize("batch", [1, 5, 512])
@pytest.mark.parametrize("seed", range(3))
def test_silhouette_walks_past_the_image_only_what_moves_the_box(assets, monkeypatch, seed, batch):
    # Objects cut by every border (and some wholly outside or inside): the mask and the box
    # are exactly those of walking every triangle over the whole canvas, whatever the batch.
    monkeypatch.setattr(simgen.labels, "SILHOUETTE_BATCH", batch)
    view = _view_at_origin(48, 36, (70.0, 71.0, 23.7, 17.2))
    rng = np.random.default_rng(seed)
    for asset in assets:
        for _ in range(12):
            pose = np.eye(4)
            pose[:3, :3] = uniform_rotation(rng)
            pose[:3, 3] = (rng.uniform(-0.6, 0.6), rng.uniform(-0.45, 0.45), rng.uniform(0.4, 1.2))
            mask, box = silhouette(asset, pose, 1.0, view)
            expected_mask, expected_box = _whole_canvas_silhouette(asset, pose, view)
            np.testing.assert_array_equal(mask, expected_mask)
            assert box == expected_box


@pytest.mark.parametrize("seed", range(3))
def test_triangle_runs_in_some_rows_are_the_whole_walks_runs_there(seed):
    rng = np.random.default_rng(seed)
    uv = rng.uniform(-8, 40, (60, 2))
    faces = rng.integers(0, 60, (80, 3))
    whole = np.stack(triangle_runs(uv, faces, 32, 24), axis=1)
    for top, bottom in [(0, 23), (5, 5), (3, 17), (20, 23)]:
        some = np.stack(triangle_runs(uv, faces, 32, 24, rows=(top, bottom)), axis=1)
        there = whole[(whole[:, 0] >= top) & (whole[:, 0] <= bottom)]
        np.testing.assert_array_equal(np.unique(some, axis=0), np.unique(there, axis=0))
        assert len(some) == len(there)


def _outside(points: np.ndarray, hull_points: np.ndarray) -> float:
    """Largest distance of ``points`` beyond the facet planes of ``hull_points``' hull."""
    from scipy.spatial import ConvexHull

    planes = ConvexHull(hull_points).equations
    return float((points @ planes[:, :3].T + planes[:, 3]).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simplified_hulls_stay_close(seed):
    import trimesh

    from simgen.physics.collision import simplify_hull

    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=4).vertices  # 2562 points, radius 1
    sphere = sphere * rng.uniform(0.5, 2.0, size=3)  # an ellipsoid
    kept = simplify_hull(sphere, 128)
    assert len(kept) == 128 and np.all(np.diff(kept) > 0)
    assert _outside(sphere, sphere[kept]) < 0.03 * np.ptp(sphere, axis=0).max()
    # a box with many points on its faces: the search stops once its hull is the whole box
    corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * 3)).reshape(3, -1).T
    faces = rng.uniform(-1, 1, size=(300, 3))
    faces[np.arange(300), rng.integers(0, 3, size=300)] = rng.choice([-1.0, 1.0], size=300)
    cube = np.concatenate([faces, corners])
    kept = simplify_hull(cube, 128)
    assert len(kept) < 128 and _outside(cube, cube[kept]) < 1e-9
    small = sphere[:50]
    np.testing.assert_array_equal(simplify_hull(small, 128), np.arange(50))
