"""The pyrender backend's passes: fitted shadows land where geometry says, shadow maps shared by
a scene's views change no pixel, the label pass gives exact full silhouettes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from simgen.assets import load_entry
from simgen.config import ObjectEntry
from simgen.geometry import OPENGL_FROM_OPENCV, look_at
from simgen.labels import annotate, silhouette
from simgen.render.gl_passes import (
    NO_SLOT,
    SHADED_LABELS_DEFINE,
    add_label_outputs,
    draw_distance,
    label_color,
)
from simgen.render.pyrender_egl import PyrenderRenderer, composite_background
from simgen.render.shadows import (
    LIGHT_COUNTS_DEFINE,
    LIGHT_LOOPS,
    MAX_SPECIALIZED_PROGRAMS,
    directional_extent,
    patch_mesh_shader,
    spot_fov,
)
from simgen.scene import CameraView
from tests.helpers import (
    CUBE,
    LIGHT_SETS,
    H,
    K,
    W,
    make_light,
    make_object,
    make_sample,
    make_view,
)


@pytest.fixture(scope="module")
def assets():
    return [
        load_entry(ObjectEntry(category="cube", primitive="box", size=CUBE)),
        load_entry(ObjectEntry(category="ball", primitive="sphere", size=0.05)),
    ]


@pytest.fixture(scope="module")
def renderer(assets):
    with PyrenderRenderer(assets) as r:
        yield r


def _ground_points(view: CameraView) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) world point where each pixel centre's ray meets z = 0, and (H, W) bool hit."""
    cols, rows = np.meshgrid(np.arange(W), np.arange(H))
    rays = np.stack([(cols - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], np.ones(cols.shape)])
    rays = np.einsum("ij,jhw->hwi", view.pose[:3, :3], rays)
    eye = view.pose[:3, 3]
    t = -eye[2] / rays[..., 2]
    return eye + t[..., None] * rays, t > 0


def _ray_hits_cube(points: np.ndarray, direction: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Whether rays from ``points`` along ``direction`` (towards the light) pass through the
    axis-aligned cube of side CUBE at ``centre`` (slab test)."""
    lo, hi = centre - CUBE / 2, centre + CUBE / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - points) / direction
        t1 = (hi - points) / direction
    near = np.minimum(t0, t1).max(axis=-1)
    far = np.maximum(t0, t1).min(axis=-1)
    return (far >= np.maximum(near, 0.0)) & (far > 0)


@pytest.mark.parametrize(
    ("kind", "eye"),
    [
        ("directional", (0.6, 0.2, 1.0)),
        ("directional", (-0.5, 0.4, 0.8)),
        ("spot", (0.5, 0.3, 1.2)),
        ("spot", (-0.4, 0.4, 1.0)),
    ],
)
def test_shadow_falls_where_the_cube_blocks_the_light(renderer, kind, eye):
    centre = np.array([0.0, 0.0, CUBE / 2])
    view = make_view((0.0, -0.7, 0.9), (0.0, 0.1, 0.0))
    objects = [make_object(1, 0, centre)]
    lit = renderer.render(make_sample(objects, [make_light(kind, eye)], [view], shadows=False), 0)
    shaded = renderer.render(make_sample(objects, [make_light(kind, eye)], [view], shadows=True), 0)

    points, hit = _ground_points(view)
    towards_light = np.asarray(eye, dtype=np.float64)
    if kind == "directional":
        direction = np.broadcast_to(towards_light / np.linalg.norm(towards_light), points.shape)
    else:
        direction = towards_light - points
    blocked = _ray_hits_cube(points, direction, centre)
    # Ground pixels away from the cube's own silhouette (its anti-aliased edge mixes colours).
    ground = hit & ~ndimage.binary_dilation(shaded.instance_ids > 0, iterations=2)
    darker = (lit.rgb.astype(int) - shaded.rgb.astype(int)).max(axis=-1)
    assert blocked[ground].sum() > 200, "the test scene must cast a visible shadow"
    near_shadow = ndimage.binary_dilation(blocked, iterations=2)
    deep_shadow = ndimage.binary_erosion(blocked, iterations=2)
    # Outside the shadow (and its 2-pixel filtered edge) nothing changes, including ground far
    # beyond the fitted shadow frustum; inside it, every pixel is darker.
    assert np.abs(darker[ground & ~near_shadow]).max() <= 1
    assert (darker[ground & deep_shadow] >= 3).all()


def test_views_sharing_shadow_maps_match_a_fresh_render(renderer):
    objects = [
        make_object(1, 0, (0.05, 0.0, CUBE / 2)),
        make_object(2, 1, (-0.1, 0.05, 0.025), "ball"),
    ]
    lights = [make_light("directional", (0.6, 0.2, 1.0)), make_light("spot", (-0.4, 0.4, 1.0))]
    views = [make_view((0.0, -0.7, 0.9)), make_view((0.6, 0.4, 0.7)), make_view((-0.5, 0.2, 0.6))]
    sample = make_sample(objects, lights, views)
    together = [renderer.render(sample, v).rgb for v in range(3)]
    for v in range(3):
        # An equal sample that is a new object: the renderer builds its scene and shadow maps
        # afresh, as a worker or `simgen replay` rendering this view alone would.
        alone = renderer.render(dataclasses.replace(sample), v).rgb
        np.testing.assert_array_equal(alone, together[v])


def test_shadow_maps_lent_to_the_next_scene_are_drawn_for_it(renderer):
    # Scenes share the renderer's pooled shadow-map textures: a scene drawn after another
    # (which cast its shadows elsewhere, with more lights) must see only its own shadows.
    view = make_view((0.0, -0.7, 0.9))
    scenes = {
        "here": make_sample(
            [make_object(1, 0, (0.05, 0.0, CUBE / 2))],
            [make_light("directional", (0.6, 0.2, 1.0)), make_light("spot", (-0.4, 0.4, 1.0))],
            [view],
        ),
        "elsewhere": make_sample(
            [
                make_object(1, 0, (-0.2, 0.15, CUBE / 2)),
                make_object(2, 1, (0.2, -0.1, 0.025), "ball"),
            ],
            [
                make_light("spot", (0.5, 0.3, 1.2)),
                make_light("directional", (-0.5, 0.4, 0.8)),
                make_light("spot", (0.1, -0.6, 1.0)),
            ],
            [view],
        ),
    }
    scenes["unshadowed"] = dataclasses.replace(scenes["here"], shadows=False)
    alone = {}
    for name, sample in scenes.items():
        renderer.free_shadow_maps()  # new textures, as a fresh renderer would have
        alone[name] = renderer.render(sample, 0).rgb
    for name in ("here", "elsewhere", "unshadowed", "here", "elsewhere", "here"):
        again = renderer.render(dataclasses.replace(scenes[name]), 0).rgb
        np.testing.assert_array_equal(again, alone[name], err_msg=name)
    last = dataclasses.replace(scenes["elsewhere"])
    renderer.render(last, 0)
    renderer.free_shadow_maps()  # the same sample object again: its scene is built anew
    np.testing.assert_array_equal(renderer.render(last, 0).rgb, alone["elsewhere"])
    assert renderer.shadow_maps_allocated == 3  # the most shadowed lights one scene had


@pytest.mark.parametrize("count", [3, 40])
def test_label_pass_gives_full_silhouettes(renderer, assets, count):
    # A row of balls seen along the row: each hides part of the next ones. 40 balls need two
    # silhouette words (32 bits each).
    rng = np.random.default_rng(count)
    objects = [
        make_object(i + 1, 1, (0.02 * rng.standard_normal(), 0.06 * i, 0.025), "ball")
        for i in range(count)
    ]
    view = make_view((0.0, -0.4, 0.05), (0.0, 0.3, 0.025))
    sample = make_sample(objects, [make_light("directional", (0.3, 0.2, 1.0))], [view])
    output = renderer.render(sample, 0)
    hidden = 0
    for obj in objects:
        full = output.amodal_mask(obj.instance_id)
        if full is None:  # not visible at all: no silhouette kept, no annotation
            assert not (output.instance_ids == obj.instance_id).any()
            continue
        visible = output.instance_ids == obj.instance_id
        assert not (visible & ~full).any()
        hidden += int((full & ~visible).sum()) > 0
        cpu, _ = silhouette(assets[1], obj.pose, obj.scale, view)
        # The CPU rasterizer counts pixel centres on an edge as inside; the GPU snaps vertices
        # to 1/256 px and breaks ties with its fill rule: a couple of pixels may differ.
        assert int((cpu != full).sum()) <= 2
    assert hidden >= 1
    instances = annotate(sample, 0, output, assets)
    assert all(0 < inst.visib_fract <= 1 for inst in instances)
    assert sum(inst.visib_fract < 1 for inst in instances) == hidden


def test_specialized_programs_are_bounded(renderer):
    # With room for 2 programs, four light sets evict and recompile programs; images match
    # the unbounded cache's, and at most 2 programs per light counts stay compiled.
    objects = [make_object(1, 0, (0.0, 0.0, CUBE / 2))]
    view = make_view((0.3, -0.6, 0.7))
    samples = [
        make_sample(objects, [make_light(k, e) for k, e in lights], [view]) for lights in LIGHT_SETS
    ]
    reference = [renderer.render(s, 0, labels=False).rgb for s in samples]
    cache = renderer._offscreen._renderer._program_cache
    cache.max_specialized = 2
    try:
        for _ in range(2):
            for sample, expected in zip(samples, reference, strict=True):
                np.testing.assert_array_equal(
                    renderer.render(sample, 0, labels=False).rgb, expected
                )
                specialized = [
                    key for key in cache._program_cache if LIGHT_COUNTS_DEFINE in str(key)
                ]
                assert 1 <= len(specialized) <= 2
    finally:
        cache.max_specialized = MAX_SPECIALIZED_PROGRAMS


def test_labels_from_windows_match_whole_image_labels(renderer, assets):
    # Labels computed on each object's window equal those computed on the whole image with
    # the same label pass; a visible pixel outside the window (impossible for a real render,
    # planted here) sends the object back to the whole-image path, so nothing is lost.
    objects = [
        make_object(1, 0, (0.0, 0.0, CUBE / 2)),
        make_object(2, 1, (0.06, -0.08, 0.025), "ball"),
    ]
    view = make_view((0.2, -0.5, 0.4))
    sample = make_sample(objects, [make_light("spot", (0.5, 0.3, 1.2))], [view])
    output = renderer.render(sample, 0)
    windowed = annotate(sample, 0, output, assets)
    assert len(windowed) == 2
    for inst in windowed:
        visible = output.instance_ids == inst.instance_id
        full = output.amodal_mask(inst.instance_id)
        np.testing.assert_array_equal(inst.mask, visible)
        np.testing.assert_array_equal(inst.amodal_mask, full | visible)
        assert inst.area == int(visible.sum()) and inst.amodal_area == int((full | visible).sum())
    ids = output.instance_ids.copy()
    ids[0, 0] = 2  # a stray pixel of the ball in the image's corner
    planted = annotate(sample, 0, dataclasses.replace(output, instance_ids=ids), assets)
    ball = next(inst for inst in planted if inst.instance_id == 2)
    assert ball.mask[0, 0] and ball.area == windowed[1].area + 1
    assert ball.bbox[:2] == (0, 0)


@pytest.mark.parametrize("slot", [0, 1, 255, 256, 1000, NO_SLOT])
def test_label_colors_round_trip(slot):
    # what LABEL_FRAG decodes from the colour uniform pyrender sets (bytes / 255)
    r, g, b = (np.float32(v) / np.float32(255.0) for v in label_color(7, slot))
    assert round(float(r) * 255) == 7
    assert round(float(g) * 255) + 256 * round(float(b) * 255) == slot


def test_depth_and_labels_can_be_skipped(renderer):
    sample = make_sample(
        [make_object(1, 0, (0.0, 0.0, CUBE / 2))],
        [make_light("directional", (0.6, 0.2, 1.0))],
        [make_view((0.0, -0.7, 0.9))],
    )
    full = renderer.render(sample, 0)
    no_depth = renderer.render(sample, 0, depth=False)
    image_only = renderer.render(sample, 0, labels=False)
    assert full.depth is not None and no_depth.depth is None
    np.testing.assert_array_equal(full.rgb, no_depth.rgb)
    np.testing.assert_array_equal(full.instance_ids, no_depth.instance_ids)
    np.testing.assert_array_equal(full.rgb, image_only.rgb)
    assert image_only.instance_ids is None and not image_only.amodal_slots


def test_old_opengl_is_refused(renderer, monkeypatch):
    from OpenGL import GL

    from simgen.render.pyrender_egl import require_gl_version

    require_gl_version(4, 3, "the label pass")  # this context (llvmpipe: 4.5)
    monkeypatch.setattr(GL, "glGetString", lambda name: b"4.1 (Core Profile) Mesa 20.0")
    with pytest.raises(RuntimeError, match=r"needs OpenGL 4\.3 for the label pass.*'4\.1"):
        require_gl_version(4, 3, "the label pass")


def test_shader_patch_is_checked():
    import pyrender

    source = (Path(pyrender.__file__).parent / "shaders" / "mesh.frag").read_text()
    uniform = patch_mesh_shader(source)
    assert "PCF(" not in uniform.split("void main()")[1] and "i < n_spot_lights" in uniform
    constant = patch_mesh_shader(source, (1, 2, 0))
    for loop, count in zip(LIGHT_LOOPS, (1, 2, 0), strict=True):
        assert loop not in constant and f"{loop.split(' <')[0]} < {count};" in constant
    for broken in ("void main() {}", source.replace(LIGHT_LOOPS[1], "i < 3")):
        with pytest.raises(RuntimeError, match=r"pyrender==0\.1\.45"):
            patch_mesh_shader(broken)


@pytest.mark.parametrize("shadows", [True, False])
def test_constant_light_loops_render_the_same_pixels(renderer, shadows):
    objects = [
        make_object(1, 0, (0.0, 0.0, CUBE / 2)),
        make_object(2, 1, (0.12, 0.05, 0.025), "ball"),
    ]
    view = make_view((0.3, -0.6, 0.7))
    samples = [
        make_sample(objects, [make_light(k, e) for k, e in lights], [view], shadows=shadows)
        for lights in LIGHT_SETS
    ]
    images = {}
    for constant in (True, False):
        renderer.constant_light_loops = constant
        try:
            images[constant] = [renderer.render(s, 0, labels=False).rgb for s in samples]
        finally:
            renderer.constant_light_loops = True
    for fast, slow in zip(images[True], images[False], strict=True):
        assert fast.std() > 5  # lit, not blank
        np.testing.assert_array_equal(fast, slow)


def _edges(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3x3 neighbourhood of ``image`` is not constant."""
    return ndimage.maximum_filter(image, 3) != ndimage.minimum_filter(image, 3)


@pytest.mark.parametrize("shadows", [True, False])
def test_single_sample_shaded_pass_changes_edges_only(renderer, shadows):
    # Smooth balls only, so that every edge the multisampling smooths is an edge of the
    # instance map or of the drawn area (a box's creases would be neither).
    sample = make_sample(
        [
            make_object(1, 1, (0.0, 0.0, 0.025), "ball"),
            make_object(2, 1, (0.12, 0.05, 0.025), "ball"),
        ],
        [make_light("directional", (0.6, 0.2, 1.0)), make_light("spot", (-0.4, 0.4, 1.0))],
        [make_view((0.3, -0.6, 0.7))],
        shadows=shadows,
    )
    smooth = renderer.render(sample, 0)
    jagged = renderer.render(dataclasses.replace(sample, antialias=False), 0)
    # The labels do not depend on the shaded pass's sampling (the single-sampled one draws
    # them itself, the multisampled one leaves them to a label pass).
    np.testing.assert_array_equal(smooth.instance_ids, jagged.instance_ids)
    assert smooth.amodal_slots == jagged.amodal_slots
    for a, b in zip(smooth.amodal_words, jagged.amodal_words, strict=True):
        np.testing.assert_array_equal(a, b)
    changed = np.abs(smooth.rgb.astype(int) - jagged.rgb.astype(int)).max(axis=-1) > 2
    assert 0 < changed.sum() < 0.01 * changed.size
    edges = _edges(smooth.instance_ids) | _edges(smooth.depth > 0) | _edges(jagged.depth > 0)
    edges[[0, -1], :] = edges[:, [0, -1]] = True  # the neighbourhood reaches past the border
    assert not (changed & ~edges).any()
    # Depth is read at each pixel's centre instead of at one of its four samples: within the
    # depth step to a neighbouring pixel.
    inside = ~edges & (smooth.depth > 0)
    step = ndimage.maximum_filter(smooth.depth, 3) - ndimage.minimum_filter(smooth.depth, 3)
    assert (np.abs(jagged.depth - smooth.depth)[inside] <= step[inside]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fitted_frusta_hold_every_corner(seed):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(-0.3, 0.3, size=(40, 3)) + np.array([0.0, 0.0, 0.3])
    eye = rng.uniform(-1, 1, size=3) + np.array([0.0, 0.0, 2.0])
    pose = look_at(eye, np.zeros(3)) @ OPENGL_FROM_OPENCV
    centre = corners.mean(axis=0)
    extent = directional_extent(corners, pose[:3, :3], centre)
    local = (corners - centre) @ pose[:3, :3]
    assert np.abs(local[:, :2]).max() <= extent / 1.04
    fov = spot_fov(corners, pose, np.pi)
    in_light = (corners - eye) @ pose[:3, :3]
    tangents = np.abs(in_light[:, :2]).max(axis=1) / -in_light[:, 2]
    assert tangents.max() <= np.tan(fov / 2) / 1.04
    behind = np.vstack([corners, eye + 2 * pose[:3, 2]])  # a corner behind the light
    assert spot_fov(behind, pose, np.pi) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_background_is_blended_by_coverage(seed):
    rng = np.random.default_rng(seed)
    alpha = rng.choice([0, 255, 1, 128, 254], size=(30, 40)).astype(np.uint8)
    # Colour premultiplied by coverage, as the renderer reads it back.
    rgb = (rng.integers(0, 256, (30, 40, 3)) * (alpha[..., None] / 255)).astype(np.uint8)
    background = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    out = composite_background(np.dstack([rgb, alpha]), background)
    a = alpha[..., None].astype(np.float32) / 255.0
    expected = np.rint(rgb.astype(np.float32) + (1.0 - a) * background.astype(np.float32))
    np.testing.assert_array_equal(out, np.clip(expected, 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(out[alpha == 255], rgb[alpha == 255])
    np.testing.assert_array_equal(out[alpha == 0], background[alpha == 0])
    # Colour where nothing covers a pixel (not premultiplied): still rgb + background, clipped.
    bright = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    out = composite_background(np.dstack([bright, alpha]), background)
    expected = np.rint(bright.astype(np.float32) + (1.0 - a) * background.astype(np.float32))
    np.testing.assert_array_equal(out, np.clip(expected, 0, 255).astype(np.uint8))


def test_a_scene_background_is_drawn_for_its_own_views(renderer):
    from simgen.randomize.texture import TextureConfig, sample_texture

    rng = np.random.default_rng(0)
    sample = make_sample(
        [make_object(1, 0, (0.0, 0.0, CUBE / 2))],
        [make_light("directional", (0.6, 0.2, 1.0))],
        [make_view((0.0, -0.7, 0.9)), make_view((0.6, 0.4, 0.3))],
        ground=0.4,  # the background shows around it
    )
    first, second = (
        dataclasses.replace(sample, background_texture=sample_texture(TextureConfig(p=1.0), rng))
        for _ in range(2)
    )
    images = {}
    for scene, view in [(first, 0), (first, 1), (second, 0), (first, 0), (second, 1)]:
        rgb = renderer.render(scene, view, labels=False).rgb
        images.setdefault((id(scene), view), rgb)
        np.testing.assert_array_equal(rgb, images[id(scene), view])
    assert (images[id(first), 0] != images[id(second), 0]).any()


def _scattered_sample(seed: int, background: str, shadows: bool):
    """Cubes and balls scattered and piled (hiding each other, some cut by the border; 40
    labeled: two silhouette words), single-sampled, on a ground plane with ``background``
    ``colour``, ``composite`` (a texture behind, blended by coverage) or ``dome`` (a textured
    sphere drawn with both faces)."""
    from simgen.randomize.texture import TextureConfig, sample_texture

    rng = np.random.default_rng(seed)
    objects = [
        make_object(
            i + 1,
            i % 2,
            (*rng.uniform(-0.25, 0.25, 2), rng.uniform(0.0, 0.15)),
            ("cube", "ball")[i % 2],
        )
        for i in range(44)
    ]
    objects += [dataclasses.replace(make_object(45, 0, (0.0, 0.1, 0.1)), labeled=False)]
    sample = make_sample(
        objects,
        [make_light("directional", (0.6, 0.2, 1.0)), make_light("spot", (-0.4, 0.4, 1.0))],
        [make_view((0.3, -0.5, 0.45)), make_view((-0.2, 0.15, 0.6), (0.1, 0.1, 0.0))],
        shadows=shadows,
        ground=0.6,
    )
    sample = dataclasses.replace(sample, antialias=False)
    if background == "colour":
        return sample
    texture = sample_texture(TextureConfig(p=1.0), rng)
    return dataclasses.replace(
        sample, background_texture=texture, background_composite=background == "composite"
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("background", "shadows"), [("colour", True), ("composite", True), ("dome", False)]
)
def test_one_geometry_pass_gives_the_label_pass_outputs(renderer, seed, background, shadows):
    # A single-sampled view draws its labels in the shaded pass (one geometry pass): the
    # image, depth, instance map and every silhouette bit equal those of a shaded pass
    # followed by a label pass of its own.
    sample = _scattered_sample(seed, background, shadows)
    outputs = {}
    for one_pass in (True, False):
        renderer.one_pass_labels = one_pass
        try:
            outputs[one_pass] = [renderer.render(sample, v) for v in range(len(sample.views))]
        finally:
            renderer.one_pass_labels = True
    for one, two in zip(outputs[True], outputs[False], strict=True):
        assert len(one.amodal_words) == 2 and len(one.amodal_slots) > 10
        assert one.amodal_slots == two.amodal_slots
        np.testing.assert_array_equal(one.rgb, two.rgb)
        np.testing.assert_array_equal(one.depth, two.depth)
        np.testing.assert_array_equal(one.instance_ids, two.instance_ids)
        for a, b in zip(one.amodal_words, two.amodal_words, strict=True):
            np.testing.assert_array_equal(a, b)
        hidden = [
            k for k in one.amodal_slots if (one.amodal_mask(k) & (one.instance_ids != k)).any()
        ]
        assert hidden  # bits set where the object is hidden too
    # A multisampled view of the same scene keeps its separate label pass: same labels.
    smooth = renderer.render(dataclasses.replace(sample, antialias=True), 0)
    np.testing.assert_array_equal(smooth.instance_ids, outputs[True][0].instance_ids)
    # Colour only, labels only, and the image of a pass without labels stay the same.
    np.testing.assert_array_equal(
        renderer.render(sample, 0, labels=False).rgb, outputs[True][0].rgb
    )
    labels_only = renderer.render(sample, 1, color=False)
    np.testing.assert_array_equal(labels_only.instance_ids, outputs[True][1].instance_ids)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("antialias", [False, True])
def test_nearest_first_changes_only_ties(renderer, seed, antialias):
    # Drawing opaque nodes nearest first (pyrender: farthest centre first) lets the depth test
    # reject hidden fragments earlier. The depth test keeps the first of equal depths, so where
    # two surfaces meet (their depths round to the same value: a pixel or two per view here)
    # the other one may show; the depth, and every full silhouette, stay the same.
    sample = dataclasses.replace(_scattered_sample(seed, "composite", True), antialias=antialias)
    outputs = {}
    for nearest_first in (True, False):
        renderer.nearest_first = nearest_first
        try:
            outputs[nearest_first] = [renderer.render(sample, v) for v in range(2)]
        finally:
            renderer.nearest_first = True
    for near, far in zip(outputs[True], outputs[False], strict=True):
        np.testing.assert_array_equal(near.depth, far.depth)
        assert [w.tobytes() for w in near.amodal_words] == [w.tobytes() for w in far.amodal_words]
        changed = (near.rgb != far.rgb).any(axis=2) | (near.instance_ids != far.instance_ids)
        assert changed.sum() <= 4


def test_label_outputs_are_compiled_apart(renderer):
    # Shaded programs that write labels are other programs than those that do not, and the
    # nodes without a silhouette bit (the ground, an unlabeled cube) draw with programs that
    # set none; the kinds the warm-up compiles for tell the three apart.
    sample = _scattered_sample(0, "colour", True)
    renderer.render(sample, 0, labels=False)
    renderer.render(sample, 0)
    cache = renderer._offscreen._renderer._program_cache
    keys = [str(key) for key in cache._program_cache if LIGHT_COUNTS_DEFINE in str(key)]
    with_labels = [key for key in keys if SHADED_LABELS_DEFINE in key]
    variants = {value for key in with_labels for value in ("bits", "ids") if f"'{value}')" in key}
    assert len(with_labels) < len(keys) and variants == {"bits", "ids"}
    kinds = {dict(material[3:]).get(SHADED_LABELS_DEFINE, "") for material in cache.materials}
    assert kinds == {"", "bits", "ids"}


def test_label_outputs_patch_is_checked():
    import pyrender

    source = (Path(pyrender.__file__).parent / "shaders" / "mesh.frag").read_text()
    patched = add_label_outputs(patch_mesh_shader(source, (1, 1, 0)))
    assert patched.startswith("#version 430 core") and "void shade()" in patched
    assert patched.count("void main()") == 1 and "imageAtomicOr" in patched
    no_bits = add_label_outputs(patch_mesh_shader(source, (1, 1, 0)), bits=False)
    assert "simgen_label_id" in no_bits and "image" not in no_bits.lower()
    for broken in (source.replace("void main()", "void main ()"), "#version 450 core"):
        with pytest.raises(RuntimeError, match=r"pyrender==0\.1\.45"):
            add_label_outputs(broken)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_draw_distance_is_the_far_side_of_the_bounding_sphere(seed):
    from simgen.geometry import pose_matrix
    from simgen.randomize.pose import uniform_rotation

    rng = np.random.default_rng(seed)
    lo = rng.uniform(-0.2, 0.0, 3)
    bounds = np.stack([lo, lo + rng.uniform(0.01, 0.3, 3)])
    pose = pose_matrix(uniform_rotation(rng), rng.uniform(-1.0, 1.0, 3))
    eye = rng.uniform(-2.0, 2.0, 3)
    centre = pose[:3, :3] @ bounds.mean(axis=0) + pose[:3, 3]
    expected = np.linalg.norm(centre - eye) + np.linalg.norm(bounds[1] - bounds[0]) / 2
    assert draw_distance(bounds, pose, eye) == pytest.approx(expected, rel=1e-12)
    # A small object standing on a large ground, both centred below the eye: the object first.
    ground = np.array([[-1.5, -1.5, -0.05], [1.5, 1.5, 0.0]])
    cube = np.array([[-0.03, -0.03, 0.0], [0.03, 0.03, 0.06]])
    at = pose_matrix(np.eye(3), np.array([0.4, 0.0, 0.0]))
    assert draw_distance(cube, at, np.array([0.0, 0.0, 1.0])) < draw_distance(
        ground, np.eye(4), np.array([0.0, 0.0, 1.0])
    )


def test_shadow_map_passes_keep_pyrenders_order(renderer, monkeypatch):
    # Shadow maps hold depth only, which the drawing order does not change: those passes
    # draw in pyrender's own order, and only the colour passes sort their nodes.
    sample = _scattered_sample(1, "colour", True)
    renderer.render(sample, 0)  # builds the scene and the patched renderer
    inner = renderer._offscreen._renderer
    patched = inner._sorted_mesh_nodes
    orders = []

    def recording(scene):
        nodes = patched(scene)
        orders.append((renderer._shadows.drawing, [id(n) for n in nodes]))
        return nodes

    monkeypatch.setattr(inner, "_sorted_mesh_nodes", recording)
    renderer._shadows.forget()  # draw every shadow map again
    renderer.render(sample, 1)
    shadow = [order for drawing, order in orders if drawing]
    colour = [order for drawing, order in orders if not drawing]
    assert shadow and colour
    assert all(order == shadow[0] for order in shadow)
    assert colour[0] != shadow[0]  # sorted nearest first (pyrender: farthest centre first)


def test_bounding_spheres_are_remembered_by_value():
    from simgen.render.gl_passes import bounding_sphere

    bounds = np.array([[-0.1, -0.2, 0.0], [0.1, 0.2, 0.3]])
    pose = np.eye(4)
    pose[:3, 3] = (0.5, -0.25, 0.1)
    centre, radius = bounding_sphere(bounds, pose)
    np.testing.assert_array_equal(centre, [0.5, -0.25, 0.25])
    assert radius == pytest.approx(np.linalg.norm([0.1, 0.2, 0.15]), rel=1e-15)
    again = bounding_sphere(bounds.copy(), pose.copy())
    assert again[0] is centre  # the same values: remembered
    pose[2, 3] = 1.1
    np.testing.assert_array_equal(bounding_sphere(bounds, pose)[0], [0.5, -0.25, 1.25])


def test_light_cameras_are_computed_once_per_scene(renderer):
    # pyrender computes each light's shadow camera for every primitive drawn; it depends on
    # the scene's meshes and the light only, so the patched renderer keeps it per scene.
    import pyrender

    sample = _scattered_sample(2, "colour", True)
    renderer.render(sample, 0)
    renderer.render(sample, 1)
    inner = renderer._offscreen._renderer
    scene = renderer._cached[1]
    assert scene.light_nodes
    for node in scene.light_nodes:
        kept = inner._get_light_cam_matrices(scene, node, 0)
        assert inner._get_light_cam_matrices(scene, node, 0) is kept
        fresh = pyrender.Renderer._get_light_cam_matrices(inner, scene, node, 0)
        for a, b in zip(kept, fresh, strict=True):
            np.testing.assert_array_equal(a, b)
