"""KITTI writer: the KITTI object-detection layout, from records, with exact 3D boxes.

Layout (as KITTI's ``training`` folder)::

    DIR/kitti/image_2/NNNNNN.png    hard links to DIR/images (copies where links fail)
    DIR/kitti/label_2/NNNNNN.txt    one line per annotation (KITTI's 15 fields)
    DIR/kitti/calib/NNNNNN.txt      P0..P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo

``NNNNNN`` is the image index. A label line is ``type truncated occluded alpha left top right
bottom height width length x y z rotation_y``:

- ``type``: the category name (whitespace replaced by ``_``); ``scenes/kitti.yaml`` uses
  KITTI's names (Car, Pedestrian, Cyclist).
- ``truncated``: the fraction of the object's full projected box outside the image. The full
  box bounds the projections of the scaled, posed mesh's vertices (continuous pixel-centre
  coordinates; the image spans ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``); 1.0 when part of the
  mesh lies behind the camera plane.
- ``occluded``: from ``visib_fract`` (visible pixels / full silhouette pixels in the image).
  KITTI names its levels in words only (0 fully visible, 1 partly occluded, 2 largely
  occluded); simgen's bins are :data:`OCCLUSION_BINS`.
- ``left top right bottom``: the amodal box (full silhouette clipped to the image), as pixel
  indices of its first and last columns and rows (KITTI's 0-based convention: a box touching
  the right border of a 1242-wide image ends at 1241): ``left = x``, ``right = x + w - 1`` of
  COCO's ``bbox_amodal``.
- ``height width length``, ``x y z``, ``rotation_y``: the 3D box in the *level camera* frame:
  origin at the camera centre, ``y`` pointing down along gravity (world ``-z``), ``z`` the
  camera's viewing direction projected onto the ground plane, ``x = y cross z``. An object's
  length runs along its own ``+x`` (its heading), its height along world up. ``x y z`` is the
  centre of the box's bottom face; ``rotation_y`` the heading's angle about ``y`` (KITTI: the
  heading is ``(cos ry, 0, -sin ry)``); ``alpha = rotation_y - atan2(x, z)``, both wrapped to
  ``[-pi, pi)``. The box is the tightest one with that heading and a vertical axis that holds
  the mesh: for an upright object (its ``+z`` along world up) it is the object's own box.

``calib``: ``P2 = K [R | 0]`` with ``R`` the level frame's rotation into the camera, so
``P2 @ [x, y, z, 1]`` is the pixel of a label point exactly, also for a pitched or rolled
camera (``R`` is the identity when the camera looks horizontally; then ``P2 = [K | 0]``).
``K`` puts pixel centres at integers, as KITTI. P0, P1 and P3 repeat P2 (one camera);
``R0_rect`` is the identity; ``Tr_velo_to_cam`` maps a virtual Velodyne frame at the camera
(x forward, y left, z up) into the level frame; ``Tr_imu_to_velo`` is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.layout import IMAGES_DIR
from simgen.errors import SimgenError
from simgen.formats.base import WriterOptions
from simgen.formats.files import link_or_copy
from simgen.io import atomic_write_text

FOLDER = "kitti"

OCCLUSION_BINS = ((0.9, 0), (0.5, 1), (0.0, 2))
"""``(least visib_fract, level)``, first match wins: 0 fully visible (at least 90 % of the
silhouette seen), 1 partly occluded (at least half), 2 largely occluded."""

VELO_TO_LEVEL = np.array(
    [[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float64
)
"""(3, 4) level-camera-from-Velodyne: a Velodyne frame at the camera (x forward, y left, z up)."""

WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class KittiBox:
    """The 3D part of a KITTI label line (level camera frame, metres and radians).

    Attributes:
        dimensions: (height, width, length).
        location: (3,) bottom-face centre.
        rotation_y: heading angle about the level frame's ``y``, in ``[-pi, pi)``.
        alpha: observation angle ``rotation_y - atan2(x, z)``, in ``[-pi, pi)``.
    """

    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    alpha: float


def wrap_angle(angle: float) -> float:
    """``angle`` in radians wrapped to ``[-pi, pi)``."""
    return float((angle + math.pi) % (2.0 * math.pi) - math.pi)


def _horizontal(vector: np.ndarray) -> np.ndarray | None:
    flat = np.array([vector[0], vector[1], 0.0])
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm > 1e-9 else None


def level_frame(camera_pose: np.ndarray) -> np.ndarray:
    """(3, 3) float64 world-from-level rotation (columns: the level frame's x, y, z in world
    coordinates) of a (4, 4) world-from-camera pose (OpenCV axes)."""
    forward = _horizontal(camera_pose[:3, 2])
    if forward is None:  # looking straight up or down: image "up" gives the direction
        forward = _horizontal(-camera_pose[:3, 1])
    if forward is None:
        raise SimgenError("camera has no horizontal direction", field="camera")
    down = -WORLD_UP
    right = np.cross(down, forward)
    return np.stack([right, down, forward], axis=1)


def projection_matrix(K: np.ndarray, camera_pose: np.ndarray) -> np.ndarray:
    """(3, 4) float64 ``P2 = K [R | 0]``: level-frame points to pixels (see module doc)."""
    camera_from_level = camera_pose[:3, :3].T @ level_frame(camera_pose)
    return K @ np.hstack([camera_from_level, np.zeros((3, 1))])


def heading(object_pose: np.ndarray) -> np.ndarray:
    """(3,) unit horizontal world direction of an object's ``+x`` (its ``+y`` rotated by -90
    degrees when ``+x`` points straight up or down)."""
    direction = _horizontal(object_pose[:3, 0])
    if direction is None:
        side = _horizontal(object_pose[:3, 1])
        if side is None:
            raise SimgenError("object pose has no horizontal axis", field="pose")
        direction = np.cross(side, WORLD_UP)
    return direction


def box_3d(
    vertices: np.ndarray, object_pose: np.ndarray, scale: float, camera_pose: np.ndarray
) -> KittiBox:
    """The KITTI 3D box of a mesh (see the module docstring).

    Args:
        vertices: (N, 3) float64 mesh vertices, object frame, before ``scale`` (any subset
            that holds the convex hull's vertices gives the same box).
        object_pose: (4, 4) world-from-object.
        scale: uniform scale of the mesh.
        camera_pose: (4, 4) world-from-camera (OpenCV axes).
    """
    world = vertices * scale @ object_pose[:3, :3].T + object_pose[:3, 3]
    x_axis = heading(object_pose)
    axes = np.stack([x_axis, np.cross(WORLD_UP, x_axis), WORLD_UP], axis=1)  # world-from-box
    local = (world - object_pose[:3, 3]) @ axes
    low, high = local.min(axis=0), local.max(axis=0)
    length, width, height = (high - low).tolist()
    centre = (low + high) / 2.0
    bottom = object_pose[:3, 3] + axes @ np.array([centre[0], centre[1], low[2]])
    world_from_level = level_frame(camera_pose)
    location = world_from_level.T @ (bottom - camera_pose[:3, 3])
    heading_level = world_from_level.T @ x_axis
    rotation_y = wrap_angle(math.atan2(-heading_level[2], heading_level[0]))
    alpha = wrap_angle(rotation_y - math.atan2(location[0], location[2]))
    return KittiBox(
        dimensions=(height, width, length),
        location=(float(location[0]), float(location[1]), float(location[2])),
        rotation_y=rotation_y,
        alpha=alpha,
    )


def truncation(
    vertices: np.ndarray,
    object_pose: np.ndarray,
    scale: float,
    K: np.ndarray,
    camera_pose: np.ndarray,
    size: tuple[int, int],
) -> float:
    """Fraction of the object's full projected box outside the image (see the module doc).

    Args:
        vertices: (N, 3) float64 object-frame vertices (the convex hull's suffice).
        size: image ``(width, height)``.
    """
    world = vertices * scale @ object_pose[:3, :3].T + object_pose[:3, 3]
    camera = (world - camera_pose[:3, 3]) @ camera_pose[:3, :3]
    if np.any(camera[:, 2] <= 1e-9):
        return 1.0
    pixels = camera @ K.T
    uv = pixels[:, :2] / pixels[:, 2:3]
    (u0, v0), (u1, v1) = uv.min(axis=0), uv.max(axis=0)
    full = (u1 - u0) * (v1 - v0)
    if full <= 0.0:
        return 0.0
    width, height = size
    cu0, cv0 = max(u0, -0.5), max(v0, -0.5)
    cu1, cv1 = min(u1, width - 0.5), min(v1, height - 0.5)
    inside = max(cu1 - cu0, 0.0) * max(cv1 - cv0, 0.0)
    return float(min(max(1.0 - inside / full, 0.0), 1.0))


def occlusion_level(visib_fract: float) -> int:
    """KITTI occlusion level (0, 1, 2) of a visible fraction (:data:`OCCLUSION_BINS`)."""
    for least, level in OCCLUSION_BINS:
        if visib_fract >= least:
            return level
    return OCCLUSION_BINS[-1][1]


def kitti_type(category: str) -> str:
    """A category name as a KITTI ``type`` token (whitespace becomes ``_``)."""
    return "_".join(category.split()) or "_"


def label_line(
    category: str,
    truncated: float,
    occluded: int,
    bbox_amodal: Sequence[float],
    box: KittiBox,
) -> str:
    """One KITTI label line (15 fields); the 2D box from a COCO ``[x, y, w, h]``."""
    x, y, w, h = bbox_amodal
    fields = [
        kitti_type(category),
        f"{truncated:.2f}",
        str(occluded),
        f"{box.alpha:.4f}",
        *(f"{v:.2f}" for v in (x, y, x + w - 1, y + h - 1)),
        *(f"{v:.4f}" for v in box.dimensions),
        *(f"{v:.4f}" for v in box.location),
        f"{box.rotation_y:.4f}",
    ]
    return " ".join(fields)


def _matrix(values: np.ndarray) -> str:
    return " ".join(f"{float(v):.12e}" for v in np.asarray(values).reshape(-1))


def calib_text(P2: np.ndarray) -> str:
    """A KITTI ``calib`` file for one camera with projection ``P2`` (3, 4)."""
    lines = [f"P{i}: {_matrix(P2)}" for i in range(4)]
    lines.append(f"R0_rect: {_matrix(np.eye(3))}")
    lines.append(f"Tr_velo_to_cam: {_matrix(VELO_TO_LEVEL)}")
    lines.append(f"Tr_imu_to_velo: {_matrix(np.eye(4)[:3])}")
    return "".join(line + "\n" for line in lines)


def record_lines(record: dict[str, Any], assets: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """(label lines, P2) of one record; ``assets`` is the dataset's mesh catalog."""
    from simgen.scene import SceneSample

    sample = SceneSample.from_dict(record["scene"])
    view = sample.views[record["view_index"]]
    by_id = {obj.instance_id: obj for obj in sample.objects}
    size = (int(view.width), int(view.height))
    lines = []
    for ann in record["annotations"]:
        obj = by_id[ann["instance_id"]]
        vertices = assets[obj.catalog_index].outline_vertices
        box = box_3d(vertices, obj.pose, obj.scale, view.pose)
        truncated = truncation(vertices, obj.pose, obj.scale, view.K, view.pose, size)
        occluded = occlusion_level(float(ann["visib_fract"]))
        lines.append(label_line(ann["category"], truncated, occluded, ann["bbox_amodal"], box))
    return lines, projection_matrix(view.K, view.pose)


class KittiWriter:
    """Writes ``DIR/kitti`` (see the module docstring)."""

    name = "kitti"

    def __init__(self, options: WriterOptions | None = None) -> None:
        self.options = options or WriterOptions()

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        assets = self.options.mesh_catalog("KITTI", out_dir)
        root = out_dir / FOLDER
        for sub in ("image_2", "label_2", "calib"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        for record in records:
            index = int(record["image"]["index"])
            file_name = record["image"]["file_name"]
            stem = f"{index:06d}"
            suffix = Path(file_name).suffix
            link_or_copy(out_dir / IMAGES_DIR / file_name, root / "image_2" / f"{stem}{suffix}")
            lines, P2 = record_lines(record, assets)
            atomic_write_text(root / "label_2" / f"{stem}.txt", "".join(x + "\n" for x in lines))
            atomic_write_text(root / "calib" / f"{stem}.txt", calib_text(P2))
        return root / "label_2"
