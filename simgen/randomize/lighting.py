"""Light sampler: kinds, intensities, tinted colours, positions on a dome aimed at the centre."""

from __future__ import annotations

import numpy as np

from simgen.config import LightsConfig
from simgen.geometry import OPENGL_FROM_OPENCV, look_at, spherical_to_cartesian
from simgen.randomize.material import sample_hsv_color
from simgen.scene import Light


def sample_lights(lights: LightsConfig, rng: np.random.Generator) -> tuple[Light, ...]:
    """Draw ``count`` lights; each shines along its local -z towards the origin."""
    count = int(rng.integers(lights.count[0], lights.count[1] + 1))
    out = []
    for _ in range(count):
        kind = lights.kinds[int(rng.integers(len(lights.kinds)))]
        illuminance = float(rng.uniform(*lights.intensity)) / count
        color = sample_hsv_color(lights.saturation, (1.0, 1.0), rng)
        distance = float(rng.uniform(*lights.distance))
        eye = spherical_to_cartesian(
            distance, rng.uniform(*lights.elevation_deg), rng.uniform(0, 360)
        )
        # Directional lights are given in illuminance; point and spot lights in candela.
        intensity = illuminance if kind == "directional" else illuminance * distance**2
        pose = look_at(eye, np.zeros(3)) @ OPENGL_FROM_OPENCV
        out.append(Light(kind=kind, color=color, intensity=intensity, pose=pose))
    return tuple(out)
