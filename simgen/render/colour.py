"""Colour spaces at the renderer's boundary: sRGB inputs, linear shading, sRGB output.

Every colour a user writes or a mesh file carries is **sRGB** (the encoding of photos, PLY
vertex colours, colour pickers and texture images): object colours (``objects[].color``,
drawn material colours), ground, prop and background colours, and the pixels of texture
images. Light colours are **linear** RGB (they scale radiance; they come from a colour
temperature). pyrender shades in linear light: it decodes texture images from sRGB in its
shader, but uses vertex colours and ``baseColorFactor`` as given (linear), and encodes its
output with a plain 2.2 power. simgen therefore

* converts vertex colours and material colours from sRGB to linear once, when it builds a
  pyrender mesh or material (:func:`srgb_to_linear`), and
* encodes the shaded output with the exact sRGB curve (:data:`SRGB_OUTPUT`, patched into
  ``mesh.frag`` by :mod:`simgen.render.shadows`), the inverse of the shader's texture decoding,

so that a surface lit by white ambient light of level 1 and nothing else renders to its own
sRGB colour, whichever way the colour was given. The clear colour (``background.color``) is
written to the framebuffer as it is, so it stays sRGB with no conversion.
"""

from __future__ import annotations

import numpy as np

PYRENDER_OUTPUT = (
    "frag_color = clamp(vec4(pow(color.xyz, vec3(1.0/2.2)), color.a * base_color.a), 0.0, 1.0);"
)
"""pyrender 0.1.45's output encoding in ``mesh.frag`` (a 2.2 power), replaced by
:data:`SRGB_OUTPUT`."""

SRGB_OUTPUT = """vec3 simgen_linear = clamp(color.xyz, 0.0, 1.0);
    vec3 simgen_srgb = mix(simgen_linear * 12.92,
        1.055 * pow(simgen_linear, vec3(1.0 / 2.4)) - 0.055,
        step(vec3(0.0031308), simgen_linear));
    frag_color = clamp(vec4(simgen_srgb, color.a * base_color.a), 0.0, 1.0);"""
"""The exact sRGB encoding (IEC 61966-2-1) of the shaded colour, the inverse of the
``srgb_to_linear`` that pyrender's shader applies to texture images."""


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Decode sRGB values in [0, 1] to linear light (IEC 61966-2-1).

    Args:
        values: (...) float array of sRGB channel values in [0, 1] (alpha excluded).

    Returns:
        float32 array of the same shape, linear values in [0, 1].
    """
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Encode linear values in [0, 1] as sRGB (the inverse of :func:`srgb_to_linear`).

    Args:
        values: (...) float array of linear channel values (clipped to [0, 1]).

    Returns:
        float32 array of the same shape, sRGB values in [0, 1].
    """
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    srgb = np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1.0 / 2.4) - 0.055)
    return srgb.astype(np.float32)


def linear_rgba(color: tuple[float, ...] | np.ndarray) -> tuple[float, ...]:
    """An sRGB ``(r, g, b[, a])`` colour as a linear tuple for ``baseColorFactor`` (alpha kept)."""
    values = [float(c) for c in color]
    rgb = [float(c) for c in srgb_to_linear(np.asarray(values[:3]))]
    return (*rgb, *values[3:])


def linearize_vertex_colors(mesh) -> None:
    """Convert the sRGB vertex colours of every primitive of a pyrender ``Mesh`` to linear, in
    place (``color_0`` is ``(N, 4)`` float32 in [0, 1]; alpha kept). Call once per mesh."""
    for primitive in mesh.primitives:
        colors = primitive.color_0
        if colors is None:
            continue
        converted = np.array(colors, dtype=np.float32, copy=True)
        converted[:, :3] = srgb_to_linear(converted[:, :3])
        primitive.color_0 = converted


def paint_vertex_colors(
    linear: np.ndarray, paint: tuple[float, ...], keep_below: float
) -> np.ndarray:
    """Repaint a mesh's vertex colours, keeping its dark details (glass, tyres, trim).

    Each vertex's luminance ``y`` is compared with the mesh's paint level ``ref`` (the 90th
    percentile of ``y`` over its vertices): ``r = y / ref``. A vertex with ``r <= keep_below``
    keeps its colour; from ``2 * keep_below`` up it becomes the paint times ``min(r, 1)`` (so
    shading baked into the colours stays); in between the two are blended linearly.

    Args:
        linear: (N, 3) or (N, 4) float vertex colours, **linear** RGB[A] in [0, 1].
        paint: sRGB ``(r, g, b[, a])`` paint colour in [0, 1] (alpha ignored).
        keep_below: in (0, 1), the relative luminance under which colours are kept.

    Returns:
        float32 array shaped like ``linear``: the repainted linear colours (alpha kept).
    """
    colors = np.asarray(linear, dtype=np.float32)
    rgb = colors[:, :3].astype(np.float64)
    y = rgb @ np.array([0.2126, 0.7152, 0.0722])  # linear-light luminance (Rec. 709)
    ref = float(np.percentile(y, 90)) if len(y) else 0.0
    out = colors.copy()
    if ref <= 0.0:  # an all-black mesh: paint it flat
        out[:, :3] = srgb_to_linear(np.asarray(paint[:3]))
        return out
    r = y / ref
    weight = np.clip((r - keep_below) / keep_below, 0.0, 1.0)[:, None]
    painted = srgb_to_linear(np.asarray(paint[:3]))[None, :] * np.minimum(r, 1.0)[:, None]
    out[:, :3] = (weight * painted + (1.0 - weight) * rgb).astype(np.float32)
    return out


PART_TOLERANCE = 2.5 / 255.0
"""Largest per-channel difference (sRGB, in [0, 1]) between a vertex colour and a part's
``match`` colour for the vertex to belong to the part: 8-bit vertex colours of one part exported
from different files differ by a level or two (simgen's people: skin (152, 103, 64) and (153,
102, 64))."""


def recolor_parts(
    linear: np.ndarray,
    parts: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...],
) -> np.ndarray:
    """Repaint the parts of a mesh: every vertex whose colour is within :data:`PART_TOLERANCE`
    of a part's sRGB colour takes that part's new colour (flat, as the part's was); the first
    matching part wins, other vertices keep theirs.

    Args:
        linear: (N, 3) or (N, 4) float vertex colours, **linear** RGB[A] in [0, 1].
        parts: ``((sRGB colour of the part, its new sRGB colour), ...)``, values in [0, 1].

    Returns:
        float32 array shaped like ``linear``: the repainted linear colours (alpha kept).
    """
    colors = np.asarray(linear, dtype=np.float32)
    srgb = linear_to_srgb(colors[:, :3])
    out = colors.copy()
    free = np.ones(len(colors), dtype=bool)
    for source, target in parts:
        hit = free & (
            np.abs(srgb - np.asarray(source, dtype=np.float32)).max(axis=1) <= PART_TOLERANCE
        )
        out[hit, :3] = srgb_to_linear(np.asarray(target))
        free &= ~hit
    return out
