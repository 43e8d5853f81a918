"""Light sampler: kinds, intensities, tinted colours, positions on a dome aimed at the centre."""

from __future__ import annotations

import numpy as np

from simgen.config import LightsConfig
from simgen.geometry import OPENGL_FROM_OPENCV, look_at, spherical_to_cartesian
from simgen.randomize.material import sample_hsv_color
from simgen.scene import Light


def kelvin_to_rgb(kelvin: float) -> np.ndarray:
    """(3,) float64 RGB in [0, 1] (max channel 1) of a black body at ``kelvin``.

    Planck's law evaluated at representative wavelengths of the red, green and blue channels
    (610, 550, 465 nm): a simple, smooth approximation of the light colour, warm below about
    5500 K and bluish above.
    """
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    wavelengths = np.array([610e-9, 550e-9, 465e-9])
    radiance = 1.0 / (wavelengths**5 * np.expm1(h * c / (wavelengths * k * kelvin)))
    reference = 1.0 / (wavelengths**5 * np.expm1(h * c / (wavelengths * k * 6500.0)))
    rgb = radiance / reference  # 6500 K (daylight) maps to white
    return rgb / rgb.max()


LIGHT_KINDS = ("directional", "spot", "point")
"""The light kinds, in the order of a light-count tuple."""


def reachable_light_counts(lights: LightsConfig) -> list[tuple[int, int, int]]:
    """Every (directional, spot, point) count that :func:`sample_lights` can draw from
    ``lights``, sorted: totals in ``lights.count``, only the configured kinds."""
    allowed = [kind in lights.kinds for kind in LIGHT_KINDS]
    low, high = lights.count
    return [
        (d, s, p)
        for d in range(high + 1 if allowed[0] else 1)
        for s in range(high + 1 if allowed[1] else 1)
        for p in range(high + 1 if allowed[2] else 1)
        if low <= d + s + p <= high
    ]


def sample_lights(lights: LightsConfig, rng: np.random.Generator) -> tuple[Light, ...]:
    """Draw ``count`` lights; each shines along its local -z towards the origin."""
    count = int(rng.integers(lights.count[0], lights.count[1] + 1))
    out = []
    for _ in range(count):
        kind = lights.kinds[int(rng.integers(len(lights.kinds)))]
        illuminance = float(rng.uniform(*lights.intensity)) / count
        kelvin = float(rng.uniform(*lights.temperature_k))
        tint = np.asarray(sample_hsv_color(lights.saturation, (1.0, 1.0), rng))
        rgb = kelvin_to_rgb(kelvin) * tint
        r, g, b = (float(c) for c in rgb / rgb.max())
        color = (r, g, b)
        distance = float(rng.uniform(*lights.distance))
        eye = spherical_to_cartesian(
            distance, rng.uniform(*lights.elevation_deg), rng.uniform(0, 360)
        )
        # Directional lights are given in illuminance; point and spot lights in candela.
        intensity = illuminance if kind == "directional" else illuminance * distance**2
        pose = look_at(eye, np.zeros(3)) @ OPENGL_FROM_OPENCV
        out.append(Light(kind=kind, color=color, intensity=intensity, pose=pose))
    return tuple(out)
