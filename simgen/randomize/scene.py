"""Compose the samplers into one :class:`~simgen.scene.SceneSample` per scene index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simgen.assets import Asset
from simgen.config import SceneConfig
from simgen.randomize.camera import sample_view
from simgen.randomize.lighting import sample_lights
from simgen.randomize.material import sample_hsv_color, sample_material
from simgen.randomize.pose import drop_poses, resting_poses
from simgen.rng import scene_rng
from simgen.scene import ObjectInstance, SceneSample


def _surface_color(spec, rng: np.random.Generator) -> tuple[float, float, float]:
    if spec == "random":
        return sample_hsv_color((0.0, 0.6), (0.2, 0.9), rng)
    return tuple(float(c) for c in spec)


def sample_scene(config: SceneConfig, assets: Sequence[Asset], scene_index: int) -> SceneSample:
    """Draw everything random about scene ``scene_index`` from ``(config.seed, scene_index)``.

    Args:
        config: the validated scene config.
        assets: the loaded catalog, one :class:`Asset` per ``config.objects.catalog`` entry.
        scene_index: 0-based scene number.

    Returns:
        The scene before physics (``settled=False`` when physics is enabled).
    """
    rng = scene_rng(config.seed, scene_index)
    catalog = config.objects.catalog
    count = int(rng.integers(config.objects.count[0], config.objects.count[1] + 1))
    weights = np.array([entry.weight for entry in catalog], dtype=np.float64)
    choices = rng.choice(len(catalog), size=count, p=weights / weights.sum())

    objects = []
    radii = np.zeros(count)
    for i, index in enumerate(choices):
        entry = catalog[int(index)]
        scale = float(rng.uniform(*entry.scale))
        rgba, metallic, roughness = sample_material(config.materials, rng)
        if entry.color == "original":
            color = None
        elif entry.color != "random":
            color = (*(float(c) for c in entry.color), 1.0)
        else:
            color = rgba
        radii[i] = 0.5 * scale * float(np.linalg.norm(assets[int(index)].extents))
        objects.append(
            ObjectInstance(
                instance_id=i + 1,
                catalog_index=int(index),
                category=entry.category,
                scale=scale,
                color=color,
                metallic=metallic,
                roughness=roughness,
                pose=np.eye(4),
            )
        )
    physics = config.physics
    if physics.enabled:
        poses = drop_poses(radii, physics.drop_area, physics.gap, rng)
    else:
        poses = resting_poses(radii, physics.drop_area, rng)

    lights = sample_lights(config.lights, rng)
    ambient = float(rng.uniform(*config.lights.ambient))
    ground_color = (*_surface_color(config.ground.color, rng), 1.0)
    background_color = _surface_color(config.background.color, rng)
    views = tuple(
        sample_view(config.camera, config.image, rng) for _ in range(config.views_per_scene)
    )
    sample = SceneSample(
        scene_index=scene_index,
        seed=config.seed,
        objects=tuple(objects),
        lights=lights,
        views=views,
        ground_size=config.ground.size,
        ground_color=ground_color,
        background_color=background_color,
        ambient=ambient,
        shadows=config.lights.shadows,
    )
    return sample.with_poses(poses, settled=not physics.enabled)
