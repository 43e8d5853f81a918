"""Compose the samplers into one :class:`~simgen.scene.SceneSample` per scene index."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np

from simgen.assets import Asset
from simgen.config import MeshSource, ObjectEntry, ObjectsConfig, PlacementConfig, SceneConfig
from simgen.geometry import pose_matrix
from simgen.randomize.camera import sample_road_view, sample_view
from simgen.randomize.lighting import sample_lights
from simgen.randomize.material import (
    sample_hsv_color,
    sample_material,
    sample_paint,
    sample_parts,
)
from simgen.randomize.pose import (
    drop_poses,
    footprint_order,
    stand_then_drop_poses,
    upright_poses,
    volume_poses,
)
from simgen.randomize.road import (
    RoadLayout,
    contact_shadows,
    road_poses,
    road_props,
    sample_layout,
)
from simgen.randomize.texture import TextureConfig, sample_texture, validate_texture_folder
from simgen.rng import scene_rng
from simgen.scene import ObjectInstance, PartColours, Prop, SceneSample


def entry_probabilities(objects: ObjectsConfig) -> np.ndarray:
    """(len(catalog),) float64 probability of drawing each catalog entry, by ``balance``.

    ``none``: proportional to ``weight``; ``uniform``: each category equally likely, split
    among its entries by ``weight``; a mapping: each category's normalized target frequency,
    split among its entries by ``weight``.
    """
    weights = np.array([entry.weight for entry in objects.catalog], dtype=np.float64)
    if objects.balance == "none":
        return weights / weights.sum()
    categories = [entry.category for entry in objects.catalog]
    if objects.balance == "uniform":
        targets = dict.fromkeys(categories, 1.0)
    else:
        targets = {name: float(objects.balance.get(name, 0.0)) for name in categories}
    total = sum(targets[name] for name in dict.fromkeys(categories))
    probabilities = np.zeros(len(categories))
    for i, name in enumerate(categories):
        in_category = sum(w for w, c in zip(weights, categories, strict=True) if c == name)
        probabilities[i] = targets[name] / total * weights[i] / in_category
    return probabilities


def _surface_color(spec, rng: np.random.Generator) -> tuple[float, float, float]:
    if spec == "random":
        return sample_hsv_color((0.0, 0.6), (0.2, 0.9), rng)
    r, g, b = (float(c) for c in spec)
    return r, g, b


def _building_color(rng: np.random.Generator) -> tuple[float, float, float]:
    """A muted facade colour (concrete, plaster, brick tones)."""
    return sample_hsv_color((0.0, 0.35), (0.25, 0.85), rng)


@functools.lru_cache(maxsize=32)
def folder_images(folder: str) -> tuple[Path, ...]:
    """The validated images of a texture folder (listed and decoded once per process)."""
    return tuple(validate_texture_folder(Path(folder), source=folder, field="texture.folder"))


def draw_texture(config: TextureConfig | None, rng: np.random.Generator) -> dict | None:
    """Texture parameters for one surface, or ``None`` (no texture configured or p not met)."""
    if config is None:
        return None
    images = folder_images(config.folder) if config.folder else ()
    return sample_texture(config, rng, images)


class _Look(NamedTuple):
    """How one instance looks: ``rgba`` (sRGB) or ``None`` to keep the mesh's own colours;
    ``paint`` (``color: paint``: the palette's ``keep_below``) says ``rgba`` repaints them;
    ``parts`` (``color: parts``) repaints some of them, part by part."""

    rgba: tuple[float, float, float, float] | None
    metallic: float
    roughness: float
    paint: float | None = None
    parts: PartColours | None = None


def _object_color(
    entry: MeshSource, asset: Asset, config: SceneConfig, rng: np.random.Generator
) -> _Look:
    """Draw one instance's :class:`_Look`. Every entry draws a material and one keep decision;
    entries with their own ``metallic`` or ``roughness`` range draw one more value each, and
    ``paint`` and ``parts`` entries more still (other scenes' draws are as before they existed).

    An instance that keeps its mesh's own colours is lit with the mesh's own material (vertex
    colours: pyrender's metallic 0.2 and roughness 0.8; see
    :meth:`simgen.render.pyrender_egl.PyrenderRenderer._original`) unless its entry sets
    ``metallic`` or ``roughness``: then its ``parts`` is ``()`` (nothing repainted) and it is
    lit with its drawn material."""
    rgba, metallic, roughness = sample_material(config.materials, rng)
    keep = rng.random() < config.materials.keep_original_p
    if entry.metallic is not None:
        metallic = float(rng.uniform(*entry.metallic))
    if entry.roughness is not None:
        roughness = float(rng.uniform(*entry.roughness))
    own = () if entry.metallic is not None or entry.roughness is not None else None
    if entry.color == "paint":
        paint = config.materials.paint
        if rng.random() < paint.keep_p:
            return _Look(None, metallic, roughness, parts=own)
        if paint.colors == "random":  # the material's colour, drawn above
            return _Look(rgba, metallic, roughness, paint.keep_below)
        return _Look((*sample_paint(paint, rng), 1.0), metallic, roughness, paint.keep_below)
    if entry.color == "parts":
        return _Look(None, metallic, roughness, parts=sample_parts(config.materials.parts, rng))
    if entry.color == "original" or (entry.color == "random" and asset.textured and keep):
        return _Look(None, metallic, roughness, parts=own)
    if entry.color != "random":
        r, g, b = (float(c) for c in entry.color)
        return _Look((r, g, b, 1.0), metallic, roughness)
    return _Look(rgba, metallic, roughness)


def bin_walls(
    placement: PlacementConfig, color: tuple[float, float, float, float]
) -> tuple[Prop, ...]:
    """Four static walls around the placement area (a tray on the ground)."""
    width, depth = placement.area
    h, t = placement.wall_height, placement.wall_thickness
    walls = []
    for sign in (-1.0, 1.0):
        walls.append(
            Prop(
                extents=(width + 2 * t, t, h),
                pose=pose_matrix(np.eye(3), np.array([0.0, sign * (depth + t) / 2, h / 2])),
                color=color,
            )
        )
        walls.append(
            Prop(
                extents=(t, depth, h),
                pose=pose_matrix(np.eye(3), np.array([sign * (width + t) / 2, 0.0, h / 2])),
                color=color,
            )
        )
    return tuple(walls)


def _stand_then_drop(
    placement: PlacementConfig, extents: np.ndarray, labeled: np.ndarray, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """The drop and bin placements with ``upright_p`` or ``clutter_upright_p``: initial poses,
    and the (N,) bool objects held fixed (``hold_upright``: the labeled ones that stand)."""
    standing = labeled & (rng.random(len(extents)) < placement.upright_p)
    if placement.clutter_upright_p > 0:  # (draws nothing more when 0: as before)
        standing |= ~labeled & (rng.random(len(extents)) < placement.clutter_upright_p)
    order = None
    if placement.clutter_upright_p > 0 or placement.hold_upright:
        order = footprint_order(extents, standing, labeled)
    poses, stands = stand_then_drop_poses(
        extents, standing, placement.area, placement.gap, placement.max_tries, rng, order
    )
    return poses, stands & labeled & placement.hold_upright


def _place(
    placement: PlacementConfig,
    extents: np.ndarray,
    labeled: np.ndarray,
    rng: np.random.Generator,
    zones: list[list[str]] | None = None,
    layout: RoadLayout | None = None,
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Initial poses of the objects (``extents``: (N, 3) scaled box sizes; ``labeled``: (N,)
    bool, which of them are labeled), in the placement's mode, and an (N,) bool array of the
    objects the physics holds fixed (``placement.hold_upright``: the labeled ones that start
    standing; none otherwise)."""
    held = np.zeros(len(extents), dtype=bool)
    radii = 0.5 * np.linalg.norm(extents, axis=1)
    poses: Sequence[np.ndarray | None]
    if placement.mode == "road":
        assert zones is not None and layout is not None
        poses = road_poses(
            extents, zones, layout, placement.road, placement.gap, placement.max_tries, rng
        )
    elif placement.uses_physics and (placement.upright_p > 0 or placement.clutter_upright_p > 0):
        poses, held = _stand_then_drop(placement, extents, labeled, rng)
    elif placement.uses_physics:
        poses = drop_poses(radii, placement.area, placement.gap, rng)
    elif placement.mode == "upright":
        poses = upright_poses(extents, placement.area, placement.gap, placement.max_tries, rng)
    else:
        poses = volume_poses(
            radii, placement.area, placement.height, placement.gap, placement.max_tries, rng
        )
    return list(poses), held


def sample_scene(config: SceneConfig, assets: Sequence[Asset], scene_index: int) -> SceneSample:
    """Draw everything random about scene ``scene_index`` from ``(config.seed, scene_index)``.

    Args:
        config: the validated scene config.
        assets: :func:`simgen.assets.load_catalog` of ``config`` (objects, then distractors).
        scene_index: 0-based scene number.

    Returns:
        The scene before physics (``settled=False`` for the drop and bin placements).
        Objects that found no free spot (upright and volume placements) are left out.
    """
    rng = scene_rng(config.seed, scene_index)
    catalog = config.objects.catalog
    count = int(rng.integers(config.objects.count[0], config.objects.count[1] + 1))
    choices = list(rng.choice(len(catalog), size=count, p=entry_probabilities(config.objects)))
    distractors = config.distractors
    n_distractors = int(rng.integers(distractors.count[0], distractors.count[1] + 1))
    weights = np.array([e.weight for e in distractors.catalog], dtype=np.float64)
    picks = rng.choice(len(distractors.catalog), size=n_distractors, p=weights / weights.sum())
    choices += [len(catalog) + int(k) for k in picks]
    entries = [*catalog, *distractors.catalog]

    objects = []
    extents = np.zeros((len(choices), 3))
    for i, index in enumerate(choices):
        entry, asset = entries[int(index)], assets[int(index)]
        scale = float(rng.uniform(*entry.scale))
        look = _object_color(entry, asset, config, rng)
        color = look.rgba
        extents[i] = scale * asset.extents
        labeled = int(index) < len(catalog)
        texture = None
        if color is not None and entry.color == "random":
            texture = draw_texture(config.materials.texture, rng)
        objects.append(
            ObjectInstance(
                instance_id=i + 1,
                catalog_index=int(index),
                category=cast(ObjectEntry, entry).category if labeled else "",
                scale=scale,
                color=color,
                metallic=look.metallic,
                roughness=look.roughness,
                pose=np.eye(4),
                labeled=labeled,
                texture=texture,
                mesh=asset.name,
                paint=look.paint,
                parts=look.parts,
            )
        )
    layout = None
    if config.placement.mode == "road":
        layout = sample_layout(config.placement.road, rng)
    zones: list[list[str]] = [list(entries[int(index)].zones) for index in choices]
    labeled_mask = np.array([obj.labeled for obj in objects], dtype=bool)
    poses, held = _place(config.placement, extents, labeled_mask, rng, zones, layout)

    lights = sample_lights(config.lights, rng)
    ambient = float(rng.uniform(*config.lights.ambient))
    ground_color = (*_surface_color(config.ground.color, rng), 1.0)
    background_color = _surface_color(config.background.color, rng)
    ground_texture = draw_texture(config.ground.texture, rng)
    background_texture = draw_texture(config.background.texture, rng)
    props: tuple[Prop, ...] = ()
    if config.placement.mode == "bin":
        props = bin_walls(config.placement, (*_surface_color("random", rng), 1.0))
    if layout is not None:
        facade = draw_texture(config.placement.road.building_texture, rng)
        props = road_props(layout, config.placement.road, facade, rng, _building_color)
    if config.camera.mode == "road":
        assert layout is not None  # SceneConfig checks the pairing
        views = tuple(
            sample_road_view(config.camera, config.image, layout, rng)
            for _ in range(config.views_per_scene)
        )
    else:
        views = tuple(
            sample_view(config.camera, config.image, rng) for _ in range(config.views_per_scene)
        )
    kept = [(obj, pose) for obj, pose in zip(objects, poses, strict=True) if pose is not None]
    shadow = config.placement.road.contact_shadow
    if layout is not None and shadow is not None:  # drawn last: other draws stay as they were
        rows = [i for i, pose in enumerate(poses) if pose is not None]  # those of ``kept``
        props += contact_shadows(extents[rows], [pose for _, pose in kept], shadow, rng)
    sample = SceneSample(
        scene_index=scene_index,
        seed=config.seed,
        objects=tuple(obj for obj, _ in kept),
        lights=lights,
        views=views,
        ground_size=config.ground.size,
        ground_color=ground_color,
        background_color=background_color,
        ambient=ambient,
        shadows=config.lights.shadows,
        props=props,
        ground_texture=ground_texture,
        ground_tile=config.ground.tile,
        background_texture=background_texture,
        background_composite=config.background.mode == "composite",
        held=tuple(obj.instance_id for obj, hold in zip(objects, held, strict=True) if hold),
        antialias=config.image.antialias,
    )
    return sample.with_poses([pose for _, pose in kept], settled=not config.placement.uses_physics)
