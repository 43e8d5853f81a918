"""Colour and material samplers."""

from __future__ import annotations

import colorsys

import numpy as np

from simgen.config import MaterialConfig


def sample_hsv_color(
    saturation: tuple[float, float], value: tuple[float, float], rng: np.random.Generator
) -> tuple[float, float, float]:
    """RGB in [0, 1] with uniform hue and saturation/value drawn from the given ranges."""
    hue = rng.uniform(0.0, 1.0)
    sat = rng.uniform(*saturation)
    val = rng.uniform(*value)
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return float(r), float(g), float(b)


def sample_material(
    materials: MaterialConfig, rng: np.random.Generator
) -> tuple[tuple[float, float, float, float], float, float]:
    """Draw ``(rgba, metallic, roughness)`` from the configured ranges."""
    rgb = sample_hsv_color(materials.saturation, materials.value, rng)
    metallic = float(rng.uniform(*materials.metallic))
    roughness = float(rng.uniform(*materials.roughness))
    return (*rgb, 1.0), metallic, roughness
