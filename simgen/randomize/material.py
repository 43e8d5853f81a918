"""Colour and material samplers."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from simgen.config import MaterialConfig, PaintColor, PaintConfig, PartPaint
from simgen.scene import PartColours


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


def sample_palette(
    palette: Sequence[PaintColor], value_jitter: float, rng: np.random.Generator
) -> tuple[float, float, float]:
    """An sRGB colour: a palette colour drawn by weight, its brightness scaled by a uniform
    factor in ``1 ± value_jitter`` (then clipped to [0, 1])."""
    weights = np.array([c.weight for c in palette], dtype=np.float64)
    pick = palette[int(rng.choice(len(weights), p=weights / weights.sum()))]
    factor = rng.uniform(1.0 - value_jitter, 1.0 + value_jitter)
    r, g, b = (float(np.clip(c * factor, 0.0, 1.0)) for c in pick.color)
    return r, g, b


def sample_paint(paint: PaintConfig, rng: np.random.Generator) -> tuple[float, float, float]:
    """An sRGB paint colour from ``paint``'s palette (:func:`sample_palette`)."""
    return sample_palette(paint.palette, paint.value_jitter, rng)


def sample_parts(parts: Sequence[PartPaint], rng: np.random.Generator) -> PartColours:
    """New colours for the parts of one ``color: parts`` instance: per rule, in order, one keep
    draw (``keep_p``) and, unless kept, one palette colour (:func:`sample_palette`)."""
    chosen = []
    for part in parts:
        if rng.random() < part.keep_p:
            continue
        match = (float(part.match[0]), float(part.match[1]), float(part.match[2]))
        chosen.append((match, sample_palette(part.palette, part.value_jitter, rng)))
    return tuple(chosen)
