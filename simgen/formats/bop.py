"""BOP writer: the BOP scene format (as BlenderProc's ``train_pbr`` splits), from records.

Layout (images grouped in chunks of 1000, as BOP's PBR training sets)::

    DIR/bop/camera.json                      K, size and depth scale of the first image
    DIR/bop/objects.json                     obj_id -> category and mesh (simgen extra)
    DIR/bop/train_pbr/CCCCCC/rgb/IIIIII.png  hard links to DIR/images (copies where links fail)
    DIR/bop/train_pbr/CCCCCC/depth/...       hard links to DIR/depth (when rendered)
    DIR/bop/train_pbr/CCCCCC/scene_camera.json  cam_K, depth_scale, cam_R_w2c, cam_t_w2c
    DIR/bop/train_pbr/CCCCCC/scene_gt.json      cam_R_m2c, cam_t_m2c (mm), obj_id, obj_scale
    DIR/bop/train_pbr/CCCCCC/scene_gt_info.json bbox_obj, bbox_visib, px_count_*, visib_fract
    DIR/bop/train_pbr/CCCCCC/mask/IIIIII_GGGGGG.png        full (amodal) silhouette, 0/255
    DIR/bop/train_pbr/CCCCCC/mask_visib/IIIIII_GGGGGG.png  visible mask, 0/255

Image ``i`` is chunk ``i // 1000``, image id ``i % 1000``. The ground-truth list of an image has
one entry per COCO annotation, in the same order (objects fully hidden or outside the view are
left out, as in the COCO file). ``obj_id`` is the catalog index + 1. The model of an ``obj_id``
is simgen's normalized catalog mesh in metres; each instance is that mesh scaled uniformly by
``obj_scale``, posed by ``cam_R_m2c`` and ``cam_t_m2c`` (millimetres, BOP's unit). Camera poses
follow OpenCV; ``depth_scale`` is 1.0 (simgen's depth PNGs hold millimetres).

Amodal masks are rasterized again from each record's scene with the mesh catalog (the same
function that labeled the image), so this writer needs ``WriterOptions.assets``. Per-image mask
files already present are kept (each is a pure function of its record).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.layout import DEPTH_DIR, IMAGES_DIR
from simgen.formats.base import WriterOptions
from simgen.formats.files import link_or_copy
from simgen.io import atomic_write_bytes, atomic_write_text, dump_json, encode_png

CHUNK = 1000
"""Images per BOP scene folder."""

SPLIT = "train_pbr"


def _floats(matrix: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(matrix, dtype=np.float64).reshape(-1)]


def chunk_of(index: int) -> tuple[int, int]:
    """``(chunk, image id)`` of image ``index``."""
    return index // CHUNK, index % CHUNK


def model_to_camera(object_pose: np.ndarray, camera_pose: np.ndarray) -> np.ndarray:
    """(4, 4) camera-from-model: inverse(world-from-camera) @ world-from-object (metres)."""
    return np.linalg.inv(camera_pose) @ object_pose


class BopWriter:
    """Writes ``DIR/bop`` (see the module docstring)."""

    name = "bop"

    def __init__(self, options: WriterOptions | None = None) -> None:
        self.options = options or WriterOptions()

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        from simgen.scene import SceneSample

        assets = self.options.mesh_catalog("BOP", out_dir)
        root = out_dir / "bop"
        split = root / SPLIT
        chunks: dict[int, dict[str, dict[str, Any]]] = {}
        objects: dict[int, dict[str, Any]] = {}
        for record in records:
            index = int(record["image"]["index"])
            chunk, im_id = chunk_of(index)
            folder = split / f"{chunk:06d}"
            if chunk not in chunks:
                for sub in ("rgb", "mask", "mask_visib"):
                    (folder / sub).mkdir(parents=True, exist_ok=True)
                chunks[chunk] = {"scene_gt": {}, "scene_gt_info": {}, "scene_camera": {}}
            tables = chunks[chunk]
            sample = SceneSample.from_dict(record["scene"])
            view = sample.views[record["view_index"]]
            file_name = record["image"]["file_name"]
            link_or_copy(out_dir / IMAGES_DIR / file_name, folder / "rgb" / f"{im_id:06d}.png")
            depth = out_dir / DEPTH_DIR / file_name
            if depth.is_file():
                (folder / "depth").mkdir(exist_ok=True)
                link_or_copy(depth, folder / "depth" / f"{im_id:06d}.png")
            world_to_camera = np.linalg.inv(view.pose)
            tables["scene_camera"][str(im_id)] = {
                "cam_K": _floats(view.K),
                "depth_scale": 1.0,
                "cam_R_w2c": _floats(world_to_camera[:3, :3]),
                "cam_t_w2c": _floats(world_to_camera[:3, 3] * 1000.0),
            }
            by_id = {obj.instance_id: obj for obj in sample.objects}
            gts, infos = [], []
            for gt_id, ann in enumerate(record["annotations"]):
                obj = by_id[ann["instance_id"]]
                pose = model_to_camera(obj.pose, view.pose)
                gts.append(
                    {
                        "cam_R_m2c": _floats(pose[:3, :3]),
                        "cam_t_m2c": _floats(pose[:3, 3] * 1000.0),
                        "obj_id": obj.catalog_index + 1,
                        "obj_scale": float(obj.scale),
                    }
                )
                infos.append(
                    {
                        "bbox_obj": list(ann["bbox_amodal"]),
                        "bbox_visib": list(ann["bbox"]),
                        "px_count_all": int(ann["area_amodal"]),
                        "px_count_valid": int(ann["area_amodal"]),
                        "px_count_visib": int(ann["area"]),
                        "visib_fract": float(ann["visib_fract"]),
                    }
                )
                objects.setdefault(
                    obj.catalog_index + 1,
                    {
                        "category": obj.category,
                        "mesh": _mesh_label(assets[obj.catalog_index].name),
                    },
                )
                stem = f"{im_id:06d}_{gt_id:06d}.png"
                visib_path = folder / "mask_visib" / stem
                full_path = folder / "mask" / stem
                if visib_path.is_file() and full_path.is_file():
                    continue
                visible = _decode(ann["segmentation"])
                if "segmentation_amodal" in ann:
                    full = _decode(ann["segmentation_amodal"])
                else:  # datasets written before simgen stored the amodal mask
                    full = amodal_mask(assets[obj.catalog_index], obj, view, visible)
                atomic_write_bytes(visib_path, encode_png(visible.astype(np.uint8) * 255))
                atomic_write_bytes(full_path, encode_png(full.astype(np.uint8) * 255))
            tables["scene_gt"][str(im_id)] = gts
            tables["scene_gt_info"][str(im_id)] = infos
        for chunk, tables in chunks.items():
            folder = split / f"{chunk:06d}"
            for name, table in tables.items():
                atomic_write_text(folder / f"{name}.json", dump_json(table))
        if records:
            first = SceneSample.from_dict(records[0]["scene"]).views[records[0]["view_index"]]
            camera = {
                "cx": float(first.K[0, 2]),
                "cy": float(first.K[1, 2]),
                "fx": float(first.K[0, 0]),
                "fy": float(first.K[1, 1]),
                "width": int(first.width),
                "height": int(first.height),
                "depth_scale": 1.0,
            }
            root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(root / "camera.json", dump_json(camera))
        listing = [{"obj_id": k, **v} for k, v in sorted(objects.items())]
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(root / "objects.json", dump_json(listing))
        return split


def _mesh_label(name: str) -> str:
    """An asset's name without the machine's directories (``pybullet_data:duck.obj``,
    ``primitive:box``, or a mesh file's name)."""
    return name if not Path(name).is_absolute() else Path(name).name


def _decode(segmentation: dict[str, Any]) -> np.ndarray:
    from simgen.formats.polygons import decode_rle

    return decode_rle(segmentation)


def amodal_mask(asset, obj, view, visible: np.ndarray) -> np.ndarray:
    """(H, W) bool full silhouette of ``obj`` in ``view``, ORed with its visible mask
    (exactly as :func:`simgen.labels.annotate` counts ``area_amodal``)."""
    from simgen.labels import silhouette

    full, _ = silhouette(asset, obj.pose, obj.scale, view)
    return full | visible
