"""Import a BOP split as a COCO dataset by rendering each model at its ground-truth pose.

Input: a BOP scene folder (``scene_gt.json``, ``scene_camera.json``, ``rgb/``) or a split folder
holding several numbered scene folders (e.g. ``test/000002/``), plus the BOP models folder
(``obj_XXXXXX.ply`` in millimetres, optional ``models_info.json``).

Output, laid out like a rendered simgen dataset::

    images/SSSSSS_IIIIII.<ext>   copies of the real photos (scene id, image id)
    annotations.json             COCO, written last

Each image becomes a :class:`~simgen.scene.SceneSample` whose world frame is the camera frame
(object poses are BOP's ``[cam_R_m2c | cam_t_m2c]`` in metres, camera pose = identity) and is
labeled by the ordinary pipeline: :class:`~simgen.render.pyrender_egl.PyrenderRenderer` for the
visible masks and :func:`simgen.labels.annotate` for boxes, amodal boxes and ``visib_fract``.
Visible masks only account for occlusion between annotated models; unmodelled clutter in the
photos is not known, so visible boxes can be larger than BOP's ``bbox_visib``.

Pixel-centre convention: BOP renders with an OpenGL projection built from ``cam_K`` in which
pixel ``i`` spans ``[i, i + 1)`` (its centre at ``i + 0.5``), whereas simgen's ``K`` puts pixel
centres at integer coordinates (OpenCV). :func:`simgen_intrinsics` therefore subtracts
:data:`BOP_PRINCIPAL_SHIFT` (0.5) from ``cx`` and ``cy``. Chosen empirically on LM-O test scene 2
(60 photos, 468 labeled instances), amodal boxes vs BOP's ``bbox_obj`` (+1 on width and height,
clipped to the image): with the shift, IoU median 1.000 and 10th percentile 1.000, and 452 of the
453 boxes not cut by the image border are identical; without it, median 0.973, 10th percentile
0.947, and only 20 of 453 identical. (Boxes cut by the border differ by definition: BOP's box is
that of the unclipped silhouette, simgen's that of the silhouette clipped to the image.)
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgen.assets import Asset, _asset_from_mesh, load_mesh_file
from simgen.dataset.layout import ANNOTATIONS_FILE, IMAGES_DIR
from simgen.dataset.lifecycle import (
    atomic_write_bytes,
    atomic_write_text,
    prepare_new,
    start_dataset,
)
from simgen.errors import SimgenError
from simgen.formats.coco import build_coco, instance_annotation
from simgen.io import dump_json
from simgen.render.base import Renderer
from simgen.scene import CameraView, ObjectInstance, SceneSample

BOP_PRINCIPAL_SHIFT = 0.5
"""Subtracted from BOP's ``cx``, ``cy`` to move pixel centres from ``i + 0.5`` to ``i``."""

MM = 0.001
"""Metres per millimetre (BOP translations and models are in millimetres)."""

RGB_SUFFIXES = (".png", ".jpg", ".jpeg")
MODEL_PATTERN = re.compile(r"^obj_(\d+)\.ply$")
OUTPUT_ENTRIES = {IMAGES_DIR, ANNOTATIONS_FILE}
"""What an imported dataset directory holds; only such a directory is written into again."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` once at the start and after each image."""


@dataclass(frozen=True)
class BopInstance:
    """One ground-truth object of one image.

    Attributes:
        gt_index: position in the image's ``scene_gt.json`` list.
        obj_id: BOP object id.
        pose: (4, 4) float64 camera-from-model transform, translation in metres.
        bop_visib_fract: BOP's own visible fraction from ``scene_gt_info.json`` (measured
            against the real depth image, so it accounts for unmodelled clutter), if present.
    """

    gt_index: int
    obj_id: int
    pose: np.ndarray
    bop_visib_fract: float | None = None


@dataclass(frozen=True)
class BopImage:
    """One annotated photo.

    Attributes:
        scene_id, im_id: BOP ids.
        rgb_path: the photo.
        width, height: its size in pixels.
        K: (3, 3) float64 intrinsics in simgen's convention (see :func:`simgen_intrinsics`).
        instances: the image's ground-truth objects in ``scene_gt.json`` order.
    """

    scene_id: int
    im_id: int
    rgb_path: Path
    width: int
    height: int
    K: np.ndarray
    instances: tuple[BopInstance, ...]

    @property
    def file_name(self) -> str:
        """``SSSSSS_IIIIII.<ext>``: the name of the copy under ``images/``."""
        return f"{self.scene_id:06d}_{self.im_id:06d}{self.rgb_path.suffix.lower()}"


def category_name(obj_id: int) -> str:
    """COCO category name of a BOP object id, e.g. ``obj_000005``."""
    return f"obj_{obj_id:06d}"


def bop_box_to_coco(box: Sequence[int], width: int, height: int) -> list[int]:
    """BOP's ``[x, y, w, h]`` (``w = x_max - x_min`` of pixel indices, not clipped) as a COCO box
    ``[x, y, w, h]`` (``w`` = pixels covered) clipped to a ``width`` x ``height`` image."""
    x, y, w, h = (int(v) for v in box)
    x0, y0 = max(x, 0), max(y, 0)
    return [x0, y0, min(x + w + 1, width) - x0, min(y + h + 1, height) - y0]


def simgen_intrinsics(cam_K: Sequence[float] | np.ndarray) -> np.ndarray:
    """(3, 3) float64 simgen ``K`` from BOP's row-major ``cam_K`` (9 floats).

    BOP's pixel ``i`` has its centre at ``i + 0.5`` in ``cam_K``'s coordinates; simgen's at
    ``i``; the principal point moves by :data:`BOP_PRINCIPAL_SHIFT`.
    """
    K = np.asarray(cam_K, dtype=np.float64).reshape(3, 3).copy()
    K[0, 2] -= BOP_PRINCIPAL_SHIFT
    K[1, 2] -= BOP_PRINCIPAL_SHIFT
    return K


def read_json(path: Path) -> Any:
    """Parse a JSON file whose top level must be an object.

    Raises:
        SimgenError: the file is missing, unreadable or malformed.
    """
    if not path.is_file():
        raise SimgenError("file not found", file=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimgenError(f"malformed JSON: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise SimgenError("expected a JSON object at the top level", file=path)
    return data


def _int_key(key: str, path: Path) -> int:
    """A ``scene_gt.json``/``models_info.json`` key as an int id."""
    try:
        return int(key)
    except ValueError:
        raise SimgenError("key is not an integer id", file=path, field=key) from None


def _floats(value: Any, count: int, path: Path, field: str) -> np.ndarray:
    """(count,) float64 array from a JSON list of ``count`` finite numbers."""
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.shape != (count,) or not np.isfinite(array).all():
        raise SimgenError(f"expected a list of {count} finite numbers", file=path, field=field)
    return array


def find_scene_dirs(split_dir: Path) -> list[tuple[int, Path]]:
    """The ``(scene_id, folder)`` pairs of a scene folder or a split of numbered scene folders.

    A folder with ``scene_gt.json`` is one scene (its id is its name if numeric, else 0);
    otherwise its numerically named sub-folders are the scenes, sorted by id.

    Raises:
        SimgenError: ``split_dir`` is missing, or no ``scene_gt.json`` can be found.
    """
    if not split_dir.is_dir():
        raise SimgenError("BOP split or scene folder not found", file=split_dir)
    if (split_dir / "scene_gt.json").exists():
        return [(int(split_dir.name) if split_dir.name.isdigit() else 0, split_dir)]
    scenes = sorted(
        (int(sub.name), sub) for sub in split_dir.iterdir() if sub.is_dir() and sub.name.isdigit()
    )
    if not scenes:
        raise SimgenError(
            "file not found (and no numbered scene folders here)",
            file=split_dir / "scene_gt.json",
        )
    return scenes


def _find_rgb(rgb_dir: Path, im_id: int) -> Path | None:
    """``rgb/IIIIII.png`` (or ``.jpg``/``.jpeg``) if present."""
    for suffix in RGB_SUFFIXES:
        path = rgb_dir / f"{im_id:06d}{suffix}"
        if path.is_file():
            return path
    return None


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file (decoded with OpenCV).

    Raises:
        SimgenError: the file cannot be decoded.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SimgenError("cannot read image", file=path)
    return int(image.shape[1]), int(image.shape[0])


def _parse_instances(entries: Any, gt_path: Path, key: str) -> tuple[BopInstance, ...]:
    """The ground-truth list of one image in ``scene_gt.json``."""
    if not isinstance(entries, list):
        raise SimgenError("expected a list of ground-truth objects", file=gt_path, field=key)
    instances = []
    for k, entry in enumerate(entries):
        field = f"{key}.{k}"
        if not isinstance(entry, dict):
            raise SimgenError("expected an object", file=gt_path, field=field)
        obj_id = entry.get("obj_id")
        if not isinstance(obj_id, int) or isinstance(obj_id, bool) or obj_id < 0:
            raise SimgenError("missing or not an integer", file=gt_path, field=f"{field}.obj_id")
        rotation = _floats(entry.get("cam_R_m2c"), 9, gt_path, f"{field}.cam_R_m2c")
        translation = _floats(entry.get("cam_t_m2c"), 3, gt_path, f"{field}.cam_t_m2c")
        pose = np.eye(4)
        pose[:3, :3] = rotation.reshape(3, 3)
        pose[:3, 3] = translation * MM
        instances.append(BopInstance(gt_index=k, obj_id=obj_id, pose=pose))
    return tuple(instances)


def _with_bop_visibility(
    instances: tuple[BopInstance, ...], info: Any, info_path: Path, key: str
) -> tuple[BopInstance, ...]:
    """Attach ``visib_fract`` from ``scene_gt_info.json`` (same order as ``scene_gt.json``)."""
    if info is None:
        return instances
    if not isinstance(info, list) or len(info) != len(instances):
        raise SimgenError(
            "expected one entry per object of scene_gt.json", file=info_path, field=key
        )
    out = []
    for inst, entry in zip(instances, info, strict=True):
        value = entry.get("visib_fract") if isinstance(entry, dict) else None
        if not isinstance(value, int | float):
            raise SimgenError("missing visib_fract", file=info_path, field=f"{key}.{inst.gt_index}")
        out.append(dataclasses.replace(inst, bop_visib_fract=float(value)))
    return tuple(out)


def read_scene(scene_id: int, scene_dir: Path) -> list[BopImage]:
    """Every image listed in a scene's ``scene_gt.json``, sorted by image id.

    Raises:
        SimgenError: a missing or malformed file or field, or an image without its photo.
    """
    gt_path = scene_dir / "scene_gt.json"
    camera_path = scene_dir / "scene_camera.json"
    rgb_dir = scene_dir / "rgb"
    scene_gt = read_json(gt_path)
    scene_camera = read_json(camera_path)
    if not rgb_dir.is_dir():
        raise SimgenError("rgb folder not found", file=rgb_dir)
    info_path = scene_dir / "scene_gt_info.json"
    scene_info = read_json(info_path) if info_path.is_file() else {}
    images = []
    for key in sorted(scene_gt, key=lambda k: _int_key(k, gt_path)):
        im_id = int(key)
        instances = _with_bop_visibility(
            _parse_instances(scene_gt[key], gt_path, key), scene_info.get(key), info_path, key
        )
        camera = scene_camera.get(key)
        if not isinstance(camera, dict) or "cam_K" not in camera:
            raise SimgenError("missing camera intrinsics", file=camera_path, field=f"{key}.cam_K")
        K = simgen_intrinsics(_floats(camera["cam_K"], 9, camera_path, f"{key}.cam_K"))
        rgb_path = _find_rgb(rgb_dir, im_id)
        if rgb_path is None:
            raise SimgenError(
                f"image listed here has no file {rgb_dir / f'{im_id:06d}'}.png/.jpg",
                file=gt_path,
                field=key,
            )
        width, height = image_size(rgb_path)
        images.append(BopImage(scene_id, im_id, rgb_path, width, height, K, instances))
    return images


def model_ids(models_dir: Path) -> list[int]:
    """Sorted object ids named by ``models_info.json`` or by ``obj_XXXXXX.ply`` files.

    Raises:
        SimgenError: the folder is missing, or ``models_info.json`` is malformed.
    """
    if not models_dir.is_dir():
        raise SimgenError("models folder not found", file=models_dir)
    ids: set[int] = set()
    info_path = models_dir / "models_info.json"
    if info_path.exists():
        ids.update(_int_key(key, info_path) for key in read_json(info_path))
    for path in models_dir.iterdir():
        match = MODEL_PATTERN.match(path.name)
        if match:
            ids.add(int(match.group(1)))
    return sorted(ids)


def model_path(models_dir: Path, obj_id: int) -> Path:
    """``MODELS/obj_XXXXXX.ply``."""
    return models_dir / f"{category_name(obj_id)}.ply"


def check_models(images: Sequence[BopImage], models_dir: Path, scene_dirs: dict[int, Path]) -> None:
    """Raise :class:`SimgenError` naming the first ground-truth object without a model file."""
    for image in images:
        for inst in image.instances:
            path = model_path(models_dir, inst.obj_id)
            if not path.is_file():
                raise SimgenError(
                    f"no model for obj_id {inst.obj_id}: {path} not found",
                    file=scene_dirs[image.scene_id] / "scene_gt.json",
                    field=f"{image.im_id}.{inst.gt_index}.obj_id",
                )


def load_models(models_dir: Path, obj_ids: Sequence[int]) -> list[Asset]:
    """One :class:`Asset` per object id, in metres and in the model's own frame."""
    assets = []
    for obj_id in obj_ids:
        path = model_path(models_dir, obj_id)
        mesh = load_mesh_file(path, units="mm", source=path, field_name="obj_id")
        assets.append(_asset_from_mesh(str(path), mesh, None))
    return assets


def scene_sample(image: BopImage, index: int, catalog: dict[int, int]) -> SceneSample:
    """A :class:`SceneSample` of one photo; world frame = camera frame (OpenCV axes).

    Args:
        image: the photo and its ground truth.
        index: the image's position in the dataset (stored as ``scene_index``).
        catalog: obj_id -> index into the asset list.

    Instance ids are ``gt_index + 1``.
    """
    objects = tuple(
        ObjectInstance(
            instance_id=inst.gt_index + 1,
            catalog_index=catalog[inst.obj_id],
            category=category_name(inst.obj_id),
            scale=1.0,
            color=None,
            metallic=0.0,
            roughness=1.0,
            pose=inst.pose,
        )
        for inst in image.instances
    )
    view = CameraView(
        width=image.width, height=image.height, K=image.K, pose=np.eye(4), znear=0.01, zfar=20.0
    )
    return SceneSample(
        scene_index=index,
        seed=0,
        objects=objects,
        lights=(),
        views=(view,),
        ground_size=0.0,
        ground_color=(0.0, 0.0, 0.0, 1.0),
        background_color=(0.0, 0.0, 0.0),
        ambient=1.0,
        shadows=False,
    )


def label_image(
    renderer: Renderer,
    image: BopImage,
    sample: SceneSample,
    assets: Sequence[Asset],
    visib_threshold: float,
) -> list[dict[str, Any]]:
    """COCO annotations (category by name, plus ``bop_gt_index``) of every visible object.

    When the split has ``scene_gt_info.json``, ``visib_fract`` and ``ignore`` follow BOP's own
    visible fraction (measured against the real depth, so clutter that simgen does not model
    counts); simgen's rendered value is kept as ``visib_fract_rendered``. Without it, the
    rendered value is used.
    """
    from simgen.labels import annotate

    output = renderer.render(sample, 0, color=False)
    instances = annotate(sample, 0, output, assets, visib_threshold=visib_threshold)
    annotations = []
    for inst in instances:
        ann = {**instance_annotation(inst), "bop_gt_index": inst.instance_id - 1}
        bop = image.instances[inst.instance_id - 1].bop_visib_fract
        if bop is not None:
            ann["visib_fract_rendered"] = ann["visib_fract"]
            ann["visib_fract"] = bop
            ann["ignore"] = bop < visib_threshold
        annotations.append(ann)
    return annotations


def image_record(image: BopImage, index: int, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """A record in :func:`simgen.formats.coco.build_coco`'s format (image id = index + 1)."""
    return {
        "image": {
            "index": index,
            "file_name": image.file_name,
            "width": image.width,
            "height": image.height,
            "bop_scene_id": image.scene_id,
            "bop_im_id": image.im_id,
        },
        "annotations": annotations,
    }


def coco_with_obj_ids(
    records: Sequence[dict[str, Any]], obj_ids: Sequence[int], info: dict[str, Any]
) -> dict[str, Any]:
    """:func:`build_coco` with category ids replaced by BOP object ids."""
    coco = build_coco(records, [category_name(i) for i in obj_ids], info=info)
    for ann in coco["annotations"]:
        ann["category_id"] = obj_ids[ann["category_id"] - 1]
    for category in coco["categories"]:
        category["id"] = obj_ids[category["id"] - 1]
    return coco


def import_bop(
    split_dir: str | Path,
    models_dir: str | Path,
    out_dir: str | Path,
    *,
    visib_threshold: float = 0.1,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Turn a BOP split into a COCO dataset at ``out_dir`` (see the module docstring).

    Every input is validated (files, fields, photos, models) before anything is written.

    Args:
        split_dir: a BOP scene folder or a split folder of numbered scene folders.
        models_dir: the BOP models folder (``obj_XXXXXX.ply`` in millimetres).
        out_dir: dataset directory (created).
        visib_threshold: instances with ``visib_fract`` below it are flagged ``ignore``.
        progress: optional callback ``(done, total)``.

    Returns:
        ``{"images": int, "instances": int, "ignored": int, "annotations": Path}``.

    Raises:
        SimgenError: bad input or an unusable output path; nothing is written then.
    """
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer
    from simgen.version import __version__

    split_dir, models_dir, out_dir = Path(split_dir), Path(models_dir), Path(out_dir)
    prepare_new(out_dir, overwritable=OUTPUT_ENTRIES, earlier="import")
    scene_dirs = dict(find_scene_dirs(split_dir))
    images = [image for sid, sdir in scene_dirs.items() for image in read_scene(sid, sdir)]
    categories = model_ids(models_dir)
    check_models(images, models_dir, scene_dirs)
    used = sorted({inst.obj_id for image in images for inst in image.instances})
    assets = load_models(models_dir, used)
    catalog = {obj_id: i for i, obj_id in enumerate(used)}
    categories = sorted(set(categories) | set(used))

    start_dataset(out_dir, (IMAGES_DIR,))
    if progress is not None:
        progress(0, len(images))
    records = []
    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        for index, image in enumerate(images):
            sample = scene_sample(image, index, catalog)
            annotations = label_image(renderer, image, sample, assets, visib_threshold)
            atomic_write_bytes(out_dir / IMAGES_DIR / image.file_name, image.rgb_path.read_bytes())
            records.append(image_record(image, index, annotations))
            if progress is not None:
                progress(index + 1, len(images))

    info = {
        "description": "BOP split imported by simgen (labels rendered at ground-truth poses)",
        "version": __version__,
        "num_images": len(images),
        "visib_threshold": visib_threshold,
    }
    coco = coco_with_obj_ids(records, categories, info)
    path = out_dir / ANNOTATIONS_FILE
    atomic_write_text(path, dump_json(coco))
    return {
        "images": len(images),
        "instances": len(coco["annotations"]),
        "ignored": sum(bool(ann["ignore"]) for ann in coco["annotations"]),
        "annotations": path,
    }
