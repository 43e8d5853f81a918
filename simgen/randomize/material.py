"""Colour and material samplers."""

from __future__ import annotations

import colorsys

import numpy as np

from simgen.config import MaterialConfig, PaintConfig


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


def sample_paint(paint: PaintConfig, rng: np.random.Generator) -> tuple[float, float, float]:
    """An sRGB paint colour: a palette colour drawn by weight, its brightness scaled by a
    uniform factor in ``1 ± value_jitter`` (then clipped to [0, 1])."""
    weights = np.array([c.weight for c in paint.palette], dtype=np.float64)
    pick = paint.palette[int(rng.choice(len(weights), p=weights / weights.sum()))]
    factor = rng.uniform(1.0 - paint.value_jitter, 1.0 + paint.value_jitter)
    r, g, b = (float(np.clip(c * factor, 0.0, 1.0)) for c in pick.color)
    return r, g, b
