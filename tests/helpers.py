"""Helpers shared by the test files: small renders, byte-identical trees, the shared datasets,
composite inputs and a hand-built scene for the renderer's passes. Fixtures live in
``conftest.py``; this module holds plain values and functions that tests import (a test file never
imports another test file)."""

from __future__ import annotations

import filecmp
import os
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.geometry import OPENGL_FROM_OPENCV, look_at
from simgen.scene import CameraView, Light, ObjectInstance, SceneSample

# ----------------------------------------------------------------------------- small renders

SMALL = ["image.width=320", "image.height=240"]
"""Overrides that keep test renders small."""

BATCH_NUM = 16
BATCH_SEED = 7
BATCH_OVERRIDES = [f"num_images={BATCH_NUM}", f"seed={BATCH_SEED}", *SMALL]
"""The batch run that every way of producing it (workers, kills, crashes, retries) must match:
the ``batch_reference`` fixture renders it once in one process."""

# ----------------------------------------------------------------------------- dataset trees


def tree_files(root: Path) -> list[str]:
    """Sorted paths, relative to ``root``, of every file below it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same_tree(a: Path, b: Path) -> None:
    """Every file of ``a`` and ``b`` exists in both and has the same bytes."""
    files = tree_files(a)
    assert files == tree_files(b)
    _match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


# ----------------------------------------------------------------------------- shared datasets

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
"""Research-only datasets kept beside the repository (``../shared/datasets``), never copied in."""


def in_ci() -> bool:
    """Whether the tests run in CI (the environment variable ``CI`` is ``true``)."""
    return os.environ.get("CI", "").lower() == "true"


def require_shared(path: Path) -> Path:
    """``path`` (below :data:`SHARED_DATASETS`) when it exists. Otherwise the calling test is
    skipped with the missing path as the reason, or, in CI, fails naming it: a CI run without
    the shared data must not pass by skipping what needs it."""
    if path.exists():
        return path
    reason = f"shared data not found: {path}"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: shared datasets are required)", pytrace=False)
    pytest.skip(reason)


# ----------------------------------------------------------------------------- composite inputs

CLASS_SIZES = {"scratch": 5, "dent": 2, "spot": 1}
"""Source images per class: deliberately unbalanced."""


def random_blob(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random filled ellipse (bool mask) inside ``shape``."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    centre = (int(rng.integers(w // 3, 2 * w // 3)), int(rng.integers(h // 3, 2 * h // 3)))
    axes = (int(rng.integers(3, w // 5)), int(rng.integers(2, h // 5)))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    return mask > 0


def make_sources(root: Path, *, white: bool = False, seed: int = 0) -> Path:
    """A mask folder: CLASS/img_k.bmp images with CLASS/img_k.png masks, one or two blobs per
    image, classes of unequal sizes. ``white``: images 255 everywhere (the mask alone decides
    which pixels are the instance), else textured with brighter blobs."""
    rng = np.random.default_rng(seed)
    for name, n in CLASS_SIZES.items():
        folder = root / name
        folder.mkdir(parents=True)
        for k in range(n):
            shape = (48 + 4 * k, 64)
            mask = random_blob(rng, shape)
            if k % 2:
                mask |= np.roll(random_blob(rng, shape), shape[1] // 2, axis=1)
            if white:
                image = np.full(shape, 255, np.uint8)
            else:
                image = rng.integers(40, 120, shape, dtype=np.uint8)
                image[mask] = rng.integers(150, 255, int(mask.sum()), dtype=np.uint8)
            cv2.imwrite(str(folder / f"img_{k}.bmp"), image)
            cv2.imwrite(str(folder / f"img_{k}.png"), mask.astype(np.uint8) * 255)
    return root


def make_backgrounds(root: Path, *, black: bool = False, count: int = 3) -> Path:
    """A folder of ``count`` grey BMPs, the k-th 90 + 10 k high and 120 wide: noise, or
    ``black``."""
    rng = np.random.default_rng(7)
    root.mkdir(parents=True)
    for k in range(count):
        shape = (90 + 10 * k, 120)
        image = np.zeros(shape, np.uint8) if black else rng.integers(60, 140, shape, np.uint8)
        cv2.imwrite(str(root / f"free_{k}.bmp"), image)
    return root


# ----------------------------------------------------------------------------- a hand-built scene

W, H = 320, 240
K = np.array([[280.0, 0.0, 159.5], [0.0, 280.0, 119.5], [0.0, 0.0, 1.0]])
"""(3, 3) float64 intrinsics of a W x H view, principal point at the image centre."""
CUBE = 0.1
"""Side (m) of the cube, catalog entry 0 of the render-pass tests' assets."""

LIGHT_SETS = [
    [("directional", (0.6, 0.2, 1.0))],
    [("spot", (0.5, 0.3, 1.2)), ("point", (-0.3, 0.2, 0.6))],
    [("directional", (-0.5, 0.4, 0.8)), ("spot", (-0.4, 0.4, 1.0)), ("spot", (0.4, -0.4, 1.0))],
    [("point", (0.2, 0.2, 0.5)), ("directional", (0.1, -0.6, 0.9)), ("spot", (0.3, 0.3, 1.1))],
]
"""Four sets of ``(kind, eye)`` lights with different counts per kind."""


def make_object(instance_id: int, index: int, position, category: str = "cube") -> ObjectInstance:
    """Catalog entry ``index`` at ``position`` (3,), unrotated, unscaled, one flat colour."""
    pose = np.eye(4)
    pose[:3, 3] = position
    return ObjectInstance(
        instance_id=instance_id,
        catalog_index=index,
        category=category,
        scale=1.0,
        color=(0.8, 0.3, 0.2, 1.0),
        metallic=0.0,
        roughness=0.6,
        pose=pose,
    )


def make_view(eye, target=(0.0, 0.0, 0.0)) -> CameraView:
    """A W x H view with intrinsics K from ``eye`` (3,) looking at ``target`` (3,)."""
    return CameraView(width=W, height=H, K=K, pose=look_at(np.asarray(eye), np.asarray(target)))


def make_light(kind: str, eye) -> Light:
    """A white light of ``kind`` at ``eye`` (3,) aimed at the origin; point and spot lights are
    brighter with distance so that the origin gets the same irradiance as from a directional."""
    pose = look_at(np.asarray(eye, dtype=np.float64), np.zeros(3)) @ OPENGL_FROM_OPENCV
    intensity = 3.0 if kind == "directional" else 3.0 * float(np.linalg.norm(eye)) ** 2
    return Light(kind=kind, color=(1.0, 1.0, 1.0), intensity=intensity, pose=pose)


def make_sample(objects, lights, views, shadows=True, ground=2.0) -> SceneSample:
    """Scene 0 (seed 0) of ``objects``, ``lights`` and ``views`` on a grey ground plane."""
    return SceneSample(
        scene_index=0,
        seed=0,
        objects=tuple(objects),
        lights=tuple(lights),
        views=tuple(views),
        ground_size=ground,
        ground_color=(0.7, 0.7, 0.7, 1.0),
        background_color=(0.1, 0.1, 0.1),
        ambient=0.2,
        shadows=shadows,
    )


# ----------------------------------------------------------------------------- effects


def make_scene(height: int = 96, width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic render: (H, W, 3) uint8 RGB and its (H, W) int32 instance map (0 = none).

    A colour gradient with three objects (a rectangle, a disc, a near-white rectangle) and a
    little fixed texture, so that brightness-dependent effects (snow, fog) have work to do.
    """
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), np.int64)
    rgb[..., 0] = 40 + 120 * xx // width
    rgb[..., 1] = 60 + 100 * yy // height
    rgb[..., 2] = 90
    instances = np.zeros((height, width), np.int32)
    instances[10:40, 15:50] = 1
    instances[(yy - 60) ** 2 + (xx - 90) ** 2 < 20**2] = 2
    instances[55:85, 10:35] = 3
    for instance_id, color in {1: (230, 40, 40), 2: (30, 200, 60), 3: (250, 250, 240)}.items():
        rgb[instances == instance_id] = color
    rgb += np.random.default_rng(0).integers(-20, 21, (height, width, 1))
    return np.clip(rgb, 0, 255).astype(np.uint8), instances


# ----------------------------------------------------------------------------- inspect report

GAP = {
    "rows": [
        {
            "train": "synthetic",
            "AP": 0.4123,
            "AP50": 0.6512,
            "AP75": 0.4401,
            "per_class": {"duck": 0.5, "mug": 0.25},
        },
        {"train": "real", "AP": 0.5511, "AP50": 0.8, "AP75": 0.6, "per_class": {"duck": 0.7}},
    ],
    "conventions": {"evaluator": "pycocotools", "iou": "segm"},
    "minutes": 12.5,
}
SECTION_IDS = [
    "summary",
    "samples",
    "class-balance",
    "instances",
    "boxes",
    "visibility",
    "config",
    "provenance",
    "gap",
]

IMAGE_ALTS = [
    "contact sheet of labeled images",
    "class balance",
    "instances per image",
    "box size, aspect and centres",
    "visibility histogram",
]


def read_png(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image[:, :, ::-1]


class Page(HTMLParser):
    """Collects section ids, <img> attributes, table cells and <pre> text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[dict[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.pre: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_pre = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self._table = f"{self.sections[-1]}/{attrs.get('class', '')}"
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._in_pre = True
            self.pre.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_pre:
            self.pre[-1] += data


def two_quads_mesh(path: Path, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
    """Write a PLY of two 4 cm squares in the x-z plane facing -y, with 8-bit sRGB vertex
    colours ``left`` (x < 0) and ``right`` (x > 0); returns ``path``."""
    import trimesh

    quad = np.array([[0, 0, 0], [0.04, 0, 0], [0.04, 0, 0.04], [0, 0, 0.04]], dtype=float)
    offsets = np.array([[-0.045, 0.0, -0.02], [0.005, 0.0, -0.02]])
    vertices = np.vstack([quad + offsets[0], quad + offsets[1]])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    colours = np.array([[*left, 255]] * 4 + [[*right, 255]] * 4, dtype=np.uint8)
    mesh.visual.vertex_colors = colours
    mesh.export(path)
    return path


def render_two_quads_ambient(
    mesh: Path, *, light=None, **instance
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render the :func:`two_quads_mesh` at ``mesh`` as one instance (``instance``: extra
    :class:`ObjectInstance` fields such as ``color``, ``paint``, ``parts``, ``metallic``) lit by
    white ambient light of level 1 only (``light``, a (3,) position: by ambient light of level
    0.1 and a white directional light from there towards the origin; the camera is at
    (0, -0.4, 0)), 160x120; returns the (H, W, 3) uint8 image and the
    (H, W) bool masks of the left and right quads' inner pixels (3 pixels in from every edge)."""
    from scipy import ndimage

    from simgen.assets import load_entry
    from simgen.config import ObjectEntry
    from simgen.render.pyrender_egl import PyrenderRenderer

    asset = load_entry(ObjectEntry(category="quads", mesh=str(mesh)))
    fields = {"color": None, "metallic": 0.0, "roughness": 1.0, **instance}
    obj = ObjectInstance(instance_id=1, catalog_index=0, category="quads", scale=1.0,
                         pose=np.eye(4), **fields)  # fmt: skip
    K = np.array([[600.0, 0.0, 79.5], [0.0, 600.0, 59.5], [0.0, 0.0, 1.0]])
    eye = np.array([0.0, -0.4, 0.0])
    view = CameraView(width=160, height=120, K=K, pose=look_at(eye, np.zeros(3)))
    lights = () if light is None else (make_light("directional", light),)
    sample = SceneSample(scene_index=0, seed=0, objects=(obj,), lights=lights, views=(view,),
                         ground_size=0.0, ground_color=(0.0, 0.0, 0.0, 1.0),
                         background_color=(0.0, 0.0, 0.0), ambient=1.0 if light is None else 0.1,
                         shadows=False)  # fmt: skip
    with PyrenderRenderer([asset]) as renderer:
        output = renderer.render(sample, 0)
    inner = ndimage.binary_erosion(output.instance_ids == 1, iterations=3)
    left, right = inner.copy(), inner.copy()
    left[:, 80:], right[:, :80] = False, False
    return output.rgb, left, right


# ----------------------------------------------------------------------------- KITTI folders


def kitti_folder(root: Path, labels: dict[str, str], images: tuple[str, ...] | None = None) -> Path:
    """A KITTI folder at ``root``: black 200x100 photos ``image_2/STEM.png`` (one per label
    file, or ``images``) and ``label_2/STEM.txt`` holding ``labels[STEM]``."""
    (root / "image_2").mkdir(parents=True)
    (root / "label_2").mkdir()
    for stem in images if images is not None else tuple(labels):
        cv2.imwrite(str(root / "image_2" / f"{stem}.png"), np.zeros((100, 200, 3), np.uint8))
    for stem, text in labels.items():
        (root / "label_2" / f"{stem}.txt").write_text(text)
    return root
