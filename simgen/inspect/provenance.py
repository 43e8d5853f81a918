"""Summarize what was sampled for a simgen dataset, from its per-image records.

``DIR/records/NNNNNN.json`` holds, per image, ``{"schema_version", "image", "annotations",
"scene", "view_index", "effects"}`` where ``scene`` is
:meth:`simgen.scene.SceneSample.to_dict`; :func:`load_records` converts records of older schema
versions (:mod:`simgen.dataset.versions`). A scene is shared by its views, so scene-level
numbers (objects, lights) count each ``scene_index`` once and camera numbers count each image
once. Camera distance and elevation are measured from the table centre (the world origin) to
the camera centre, so they include the look-at jitter. Fields missing from records are skipped,
never guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.layout import RECORDS_DIR
from simgen.dataset.versions import upgrade_record
from simgen.errors import SimgenError
from simgen.inspect.dataset import load_json


def load_records(root: Path) -> list[dict[str, Any]]:
    """Every ``root/records/*.json`` in name order (an empty list when there is none),
    converted to the current ``schema_version``.

    Raises:
        SimgenError: a record is not valid JSON, not an object, or of a newer schema version.
    """
    records = []
    for path in sorted((root / RECORDS_DIR).glob("*.json")):
        record = load_json(path)
        if not isinstance(record, dict):
            raise SimgenError("expected a JSON object", file=path)
        records.append(upgrade_record(record, source=path))
    return records


def _range(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, min, mean and max (``None`` values when empty)."""
    if not values:
        return {"count": 0, "min": None, "mean": None, "max": None}
    data = np.asarray(values, dtype=np.float64)
    return {
        "count": int(data.size),
        "min": float(data.min()),
        "mean": float(data.mean()),
        "max": float(data.max()),
    }


def camera_geometry(view: dict[str, Any]) -> tuple[float, float, float] | None:
    """``(distance m, elevation deg, vertical fov deg)`` of a view dict, or ``None``.

    ``view["pose"]`` is the (4, 4) world-from-camera matrix; its translation is the camera
    centre. The vertical field of view is ``2 * atan(height / (2 * fy))``.
    """
    try:
        pose = np.asarray(view["pose"], dtype=np.float64)
        K = np.asarray(view["K"], dtype=np.float64)
        centre = pose[:3, 3]
        distance = float(np.linalg.norm(centre))
        elevation = math.degrees(math.asin(centre[2] / distance)) if distance > 0 else 0.0
        fov = math.degrees(2 * math.atan(float(view["height"]) / (2 * K[1, 1])))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return distance, elevation, fov


def summarize_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """JSON-ready provenance summary of a dataset's records.

    Returns:
        A dict with ``images``, ``scenes``, ``scenes_settled``, ``objects_per_scene`` (range),
        ``objects_per_scene_histogram`` ({count: scenes}), ``objects_by_category``
        (labeled objects), ``objects_with_original_colour`` and ``objects_textured`` (all
        objects), ``distractors_per_scene`` (unlabeled objects) and ``props_per_scene``
        (static boxes) as ranges, ``lights_per_scene``
        (range), ``lights_by_kind``, ``light_intensity_by_kind`` (ranges),
        ``instances_by_category`` (annotated), ``instances_ignored``, ``camera_distance_m``,
        ``camera_elevation_deg``, ``camera_vfov_deg`` (ranges over images), ``views_per_scene``
        (range).
    """
    scenes: dict[Any, dict[str, Any]] = {}
    views = Counter()
    instances = Counter()
    ignored = 0
    distance, elevation, fov = [], [], []
    for record in records:
        scene = record.get("scene") or {}
        key = scene.get("scene_index", record.get("image", {}).get("scene_index"))
        scenes.setdefault(key, scene)
        views[key] += 1
        for ann in record.get("annotations", []):
            instances[str(ann.get("category"))] += 1
            ignored += bool(ann.get("ignore"))
        view_index = record.get("view_index", record.get("image", {}).get("view_index"))
        scene_views = scene.get("views") or []
        if isinstance(view_index, int) and 0 <= view_index < len(scene_views):
            geometry = camera_geometry(scene_views[view_index])
            if geometry is not None:
                distance.append(geometry[0])
                elevation.append(geometry[1])
                fov.append(geometry[2])
    objects_per_scene, distractors_per_scene, props_per_scene, lights_per_scene = [], [], [], []
    by_category, lights_by_kind = Counter(), Counter()
    intensities: dict[str, list[float]] = {}
    original_colour = textured = settled = 0
    for scene in scenes.values():
        objects = scene.get("objects", [])
        labeled = [o for o in objects if o.get("labeled", True)]
        objects_per_scene.append(len(labeled))
        distractors_per_scene.append(len(objects) - len(labeled))
        by_category.update(str(o.get("category")) for o in labeled)
        original_colour += sum(o.get("color", 0) is None for o in objects)
        textured += sum(o.get("texture") is not None for o in objects)
        props_per_scene.append(len(scene.get("props") or []))
        lights = scene.get("lights", [])
        lights_per_scene.append(len(lights))
        for light in lights:
            kind = str(light.get("kind"))
            lights_by_kind[kind] += 1
            intensities.setdefault(kind, []).append(float(light.get("intensity", math.nan)))
        settled += bool(scene.get("settled"))
    return {
        "images": len(records),
        "scenes": len(scenes),
        "scenes_settled": settled,
        "views_per_scene": _range(list(views.values())),
        "objects_per_scene": _range(objects_per_scene),
        "objects_per_scene_histogram": {
            str(k): v for k, v in sorted(Counter(objects_per_scene).items())
        },
        "objects_by_category": dict(sorted(by_category.items())),
        "objects_with_original_colour": original_colour,
        "objects_textured": textured,
        "distractors_per_scene": _range(distractors_per_scene),
        "props_per_scene": _range(props_per_scene),
        "lights_per_scene": _range(lights_per_scene),
        "lights_by_kind": dict(sorted(lights_by_kind.items())),
        "light_intensity_by_kind": {k: _range(v) for k, v in sorted(intensities.items())},
        "instances_by_category": dict(sorted(instances.items())),
        "instances_ignored": ignored,
        "camera_distance_m": _range(distance),
        "camera_elevation_deg": _range(elevation),
        "camera_vfov_deg": _range(fov),
    }


def summarize_composites(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the records of a composite dataset (``simgen composite``) say was drawn.

    Returns a dict with ``images``, ``backgrounds`` (distinct), ``pastes`` (drawn),
    ``placed``, ``not_placed_by_reason``, ``hidden`` (covered completely by later pastes),
    ``blend`` (counts per mode), ``pastes_by_category``, ``instances_by_category``,
    ``instances_ignored``, and ranges ``pastes_per_image``, ``rotation_deg``, ``scale``
    (drawn factor times the relative factor), ``blur_sigma``.
    """
    backgrounds: set[str] = set()
    reasons, blends, by_category, instances = Counter(), Counter(), Counter(), Counter()
    per_image, angles, scales, sigmas = [], [], [], []
    placed = hidden = ignored = 0
    for record in records:
        composite = record.get("composite") or {}
        backgrounds.add(str(composite.get("background")))
        pastes = composite.get("pastes") or []
        per_image.append(len(pastes))
        for paste in pastes:
            by_category[str(paste.get("category"))] += 1
            if not paste.get("placed"):
                reasons[str(paste.get("reason"))] += 1
                continue
            placed += 1
            hidden += bool(paste.get("hidden"))
            blends[str(paste.get("blend"))] += 1
            angles.append(float(paste.get("angle_deg", math.nan)))
            scales.append(float(paste.get("scale", 1)) * float(paste.get("relative_scale", 1)))
            sigmas.append(float(paste.get("blur_sigma", 0.0)))
        for ann in record.get("annotations", []):
            instances[str(ann.get("category"))] += 1
            ignored += bool(ann.get("ignore"))
    return {
        "images": len(records),
        "backgrounds": len(backgrounds),
        "pastes": sum(per_image),
        "placed": placed,
        "not_placed_by_reason": dict(sorted(reasons.items())),
        "hidden": hidden,
        "blend": dict(sorted(blends.items())),
        "pastes_by_category": dict(sorted(by_category.items())),
        "instances_by_category": dict(sorted(instances.items())),
        "instances_ignored": ignored,
        "pastes_per_image": _range(per_image),
        "rotation_deg": _range(angles),
        "scale": _range(scales),
        "blur_sigma": _range(sigmas),
    }
