"""Procedural and folder textures: parameters are drawn, then pixels are a pure function of them.

Two halves, as in albumentations' ``get_params`` / ``apply``:

* :func:`sample_texture` draws every random value from the scene's Generator and returns a
  JSON-ready ``dict`` (stored in the image's provenance record), or ``None`` when the surface
  keeps its plain colour;
* :func:`make_texture` turns such a dict into an ``(S, S, 3)`` uint8 RGB image and nothing else.
  Calling it again later (after a JSON round trip) gives byte-identical pixels.

Kinds and their parameter dicts (every dict also has ``"kind"`` and ``"size"``, the side ``S``
in pixels; colours are sRGB ``[r, g, b]`` floats in [0, 1], like the pixels of photos; angles
are in degrees):

``noise``
    fractal value noise mapped between 2 colours: ``seed`` (int), ``colors`` (2), ``scale``
    (grid cells per side of the first octave), ``octaves`` (int, 1-4), ``persistence``
    (amplitude ratio between octaves). Tileable.
``checker``
    ``colors`` (2), ``scale`` (checks per side), ``angle``, ``offset`` ([du, dv] in checks).
``stripes``
    ``colors`` (2), ``scale`` (stripe periods per side), ``angle``, ``ratio`` (fraction of
    each period in the first colour), ``phase`` (in periods).
``gradient``
    ``colors`` (2 or 3, evenly spaced stops), ``mode`` (``"linear"`` or ``"radial"``),
    ``angle`` (direction of a linear gradient), ``center`` ([x, y] in [0, 1] of a radial one).
``blotches``
    soft random ellipses over a base colour: ``seed`` (int), ``colors`` (base first, then 2-4
    blob colours), ``scale`` (about sqrt of the blob count; mean blob radius is
    ``S / (2 * scale)``). Tileable.
``image``
    a square crop of a folder image: ``path`` (str), ``crop`` ([x0, y0, w, h] in source pixels,
    ``w == h``), ``flip`` (bool, left-right, applied after the resize), ``rotate90`` (int 0-3,
    counter-clockwise quarter turns, applied after the flip).

Determinism: procedural pixels use only element-wise IEEE arithmetic (``+ - * / sqrt floor``,
``min``/``max``) in numpy, no transcendental functions on arrays, no BLAS and no cv2 filters,
so they do not depend on SIMD dispatch or thread count. Scalar ``sin``/``cos`` of the drawn
angles come from :mod:`math`. Image textures depend on the image decoder and ``cv2.resize``
(``INTER_AREA``), which are deterministic for one OpenCV build.
"""

from __future__ import annotations

import colorsys
import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from simgen.errors import SimgenError
from simgen.ranges import PositiveRange, ZeroOneRange
from simgen.schema import _Model

TextureKind = Literal["noise", "checker", "stripes", "gradient", "blotches", "road", "image"]

PROCEDURAL_KINDS: tuple[TextureKind, ...] = ("noise", "checker", "stripes", "gradient", "blotches")
"""Kinds that need no image folder (the default of :attr:`TextureConfig.kinds`)."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)
"""File suffixes (lower case) accepted as texture images."""

IMAGE_CACHE_SIZE = 16
"""Decoded folder images kept per process (least recently used are dropped)."""


class TextureConfig(_Model):
    """Random textures for one kind of surface (objects, the ground, the backdrop)."""

    p: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Probability that a surface gets a texture at all; "
        "otherwise it keeps its plain colour.",
    )
    kinds: list[TextureKind] = Field(
        list(PROCEDURAL_KINDS), min_length=1, description="Texture kinds to choose from."
    )
    weights: list[float] | None = Field(
        None,
        description="Relative frequency of each entry of 'kinds' (same length, >= 0, "
        "positive sum); uniform when omitted.",
    )
    folder: str | None = Field(
        None,
        min_length=1,
        description="Folder of images for kind 'image', searched recursively: a path "
        "(relative paths are resolved against the scene file) or an asset name such as "
        "'assets:textures' (`simgen assets` lists them). Images are sRGB.",
    )
    size: int = Field(256, ge=16, le=2048, description="Texture side in pixels.")
    scale: PositiveRange = Field(
        (2.0, 12.0),
        description="Pattern frequency: noise cells, checks, stripe periods or "
        "about sqrt(blob count) per texture side.",
    )
    saturation: ZeroOneRange = Field((0.0, 1.0), description="HSV saturation of pattern colours.")
    value: ZeroOneRange = Field((0.15, 1.0), description="HSV value of pattern colours.")
    crop: ZeroOneRange = Field(
        (0.5, 1.0),
        description="Side of the square crop of a folder image, as a fraction of the image's "
        "shorter side (min > 0).",
    )

    @model_validator(mode="after")
    def _check(self) -> TextureConfig:
        if "image" in self.kinds and self.folder is None:
            raise ValueError("kind 'image' needs 'folder' (a folder of images)")
        if self.weights is not None:
            if len(self.weights) != len(self.kinds):
                raise ValueError(
                    f"'weights' needs one entry per kind ({len(self.weights)} weights, "
                    f"{len(self.kinds)} kinds)"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("'weights' must be >= 0 with a positive sum")
        if self.crop[0] <= 0:
            raise ValueError(f"'crop' needs min > 0 (got {self.crop[0]})")
        return self


# ---------------------------------------------------------------------------------------------
# Folder images


def validate_texture_folder(folder: Path, *, source: str | Path, field: str) -> list[Path]:
    """List and decode-check the texture images in a folder and its subfolders.

    Files whose suffix is in :data:`IMAGE_SUFFIXES` (any case) count as images; hidden files and
    folders (name starting with ``.``) are ignored. Subfolders are searched too, so a dataset laid
    out by class or split (``banded/``, ``train/`` ...) is used whole. Each image is decoded
    once with ``cv2.imread``.

    Args:
        folder: the folder, already resolved by the caller.
        source: the scene file, named in errors.
        field: the dotted config field holding the folder (e.g. ``ground.texture.folder``).

    Returns:
        The image paths, sorted.

    Raises:
        SimgenError: the folder does not exist, is not a folder, contains no images, or holds an
            image that cannot be decoded.
    """
    import cv2

    folder = Path(folder)
    if not folder.exists():
        raise SimgenError(f"texture folder not found: {folder}", file=source, field=field)
    if not folder.is_dir():
        raise SimgenError(f"not a folder: {folder}", file=source, field=field)
    images = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )
    if not images:
        raise SimgenError(
            f"texture folder {folder} contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})",
            file=source,
            field=field,
        )
    for path in images:
        if cv2.imread(str(path), cv2.IMREAD_COLOR) is None:
            raise SimgenError(
                f"unreadable image {path.relative_to(folder)} in {folder}", file=source, field=field
            )
    return images


@functools.lru_cache(maxsize=IMAGE_CACHE_SIZE)
def _load_rgb(path: str) -> np.ndarray:
    """Decode an image file once per process: (H, W, 3) uint8 RGB, read-only."""
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode texture image {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb.setflags(write=False)
    return rgb


# ---------------------------------------------------------------------------------------------
# Sampling: every random value of a texture is drawn here


def _draw_color(config: TextureConfig, rng: np.random.Generator) -> list[float]:
    """[r, g, b] in [0, 1]: uniform hue, saturation/value from the config's ranges."""
    hue = rng.uniform(0.0, 1.0)
    sat = rng.uniform(*config.saturation)
    val = rng.uniform(*config.value)
    return [float(c) for c in colorsys.hsv_to_rgb(hue, sat, val)]


def _draw_colors(config: TextureConfig, rng: np.random.Generator, count: int) -> list[list[float]]:
    """``count`` independent colours from :func:`_draw_color`."""
    return [_draw_color(config, rng) for _ in range(count)]


def _draw_seed(rng: np.random.Generator) -> int:
    """A non-negative int64 seed for a generator used inside :func:`make_texture`."""
    return int(rng.integers(0, 2**63 - 1))


def _sample_noise(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``noise`` texture (without ``kind`` and ``size``)."""
    return {
        "seed": _draw_seed(rng),
        "colors": _draw_colors(config, rng, 2),
        "scale": float(rng.uniform(*config.scale)),
        "octaves": int(rng.integers(1, 5)),
        "persistence": float(rng.uniform(0.35, 0.65)),
    }


def _sample_road(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``road`` texture: one lane of asphalt with a painted line at its edge.

    Asphalt greys and the paint colour are fixed kinds of colour (the config's saturation and
    value ranges do not apply); ``scale`` sets the asphalt grain.
    """
    dark = float(rng.uniform(0.08, 0.2))
    light = dark + float(rng.uniform(0.04, 0.12))
    yellow = bool(rng.uniform() < 0.3)
    return {
        "seed": _draw_seed(rng),
        "colors": [[dark] * 3, [light] * 3],
        "scale": float(rng.uniform(*config.scale)),
        "line_color": [0.95, 0.8, 0.1] if yellow else [0.92, 0.92, 0.92],
        "line_width": float(rng.uniform(0.025, 0.05)),
        "dashes": int(rng.integers(0, 4)),
    }


def _sample_checker(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``checker`` texture (without ``kind`` and ``size``)."""
    return {
        "colors": _draw_colors(config, rng, 2),
        "scale": float(rng.uniform(*config.scale)),
        "angle": float(rng.uniform(0.0, 90.0)),
        "offset": [float(rng.uniform(0.0, 2.0)), float(rng.uniform(0.0, 2.0))],
    }


def _sample_stripes(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``stripes`` texture (without ``kind`` and ``size``)."""
    return {
        "colors": _draw_colors(config, rng, 2),
        "scale": float(rng.uniform(*config.scale)),
        "angle": float(rng.uniform(0.0, 180.0)),
        "ratio": float(rng.uniform(0.2, 0.8)),
        "phase": float(rng.uniform(0.0, 1.0)),
    }


def _sample_gradient(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``gradient`` texture (without ``kind`` and ``size``)."""
    count = int(rng.integers(2, 4))
    return {
        "colors": _draw_colors(config, rng, count),
        "mode": "radial" if rng.uniform() < 0.5 else "linear",
        "angle": float(rng.uniform(0.0, 360.0)),
        "center": [float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 1.0))],
    }


def _sample_blotches(config: TextureConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Parameters of a ``blotches`` texture (without ``kind`` and ``size``)."""
    count = 1 + int(rng.integers(2, 5))
    return {
        "seed": _draw_seed(rng),
        "colors": _draw_colors(config, rng, count),
        "scale": float(rng.uniform(*config.scale)),
    }


def _sample_image(
    config: TextureConfig, rng: np.random.Generator, images: Sequence[Path]
) -> dict[str, Any]:
    """Parameters of an ``image`` texture: which image, a square crop inside it, flip, turn."""
    if not images:
        raise ValueError(
            "kind 'image' was drawn but no images were given: pass the list returned by "
            "validate_texture_folder(config.folder, ...)"
        )
    path = str(images[int(rng.integers(len(images)))])
    height, width = _load_rgb(path).shape[:2]
    side = max(1, min(width, height, round(min(width, height) * rng.uniform(*config.crop))))
    x0 = int(rng.integers(0, width - side + 1))
    y0 = int(rng.integers(0, height - side + 1))
    return {
        "path": path,
        "crop": [x0, y0, side, side],
        "flip": bool(rng.uniform() < 0.5),
        "rotate90": int(rng.integers(0, 4)),
    }


def sample_texture(
    config: TextureConfig, rng: np.random.Generator, images: Sequence[Path] = ()
) -> dict[str, Any] | None:
    """Draw the parameters of one texture, or ``None`` (plain colour) with probability 1 - p.

    Exactly one uniform is drawn for the ``p`` test whatever ``p`` is; the kind and its
    parameters are drawn only when it passes.

    Args:
        config: the surface's texture settings.
        rng: the scene's Generator (the only source of randomness).
        images: the folder's images from :func:`validate_texture_folder`; needed only when
            ``"image"`` is among ``config.kinds``. Their sizes are read through the same
            per-process cache that :func:`make_texture` uses.

    Returns:
        A JSON-ready dict (see the module docstring for the keys of each kind), or ``None``.
    """
    if not rng.uniform() < config.p:
        return None
    if config.weights is None:
        kind = config.kinds[int(rng.integers(len(config.kinds)))]
    else:
        weights = np.asarray(config.weights, dtype=np.float64)
        kind = config.kinds[int(rng.choice(len(config.kinds), p=weights / weights.sum()))]
    if kind == "image":
        params = _sample_image(config, rng, images)
    else:
        params = _SAMPLERS[kind](config, rng)
    return {"kind": kind, "size": config.size, **params}


_SAMPLERS = {
    "noise": _sample_noise,
    "road": _sample_road,
    "checker": _sample_checker,
    "stripes": _sample_stripes,
    "gradient": _sample_gradient,
    "blotches": _sample_blotches,
}


# ---------------------------------------------------------------------------------------------
# Generation: pure functions of the drawn parameters


def _pixel_centres(size: int) -> np.ndarray:
    """(S,) float32 pixel-centre coordinates 0.5, 1.5, ..., S - 0.5."""
    return np.arange(size, dtype=np.float32) + np.float32(0.5)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1], any shape (..., 3), to uint8 (rounded half to even, clipped)."""
    return np.clip(np.rint(rgb * np.float32(255.0)), 0, 255).astype(np.uint8)


def _two_tone(t: np.ndarray, colors: Sequence[Sequence[float]]) -> np.ndarray:
    """Blend (S, S) float32 weights ``t`` in [0, 1] from ``colors[0]`` to ``colors[1]``.

    Returns (S, S, 3) uint8.
    """
    c0 = np.asarray(colors[0], dtype=np.float32)
    c1 = np.asarray(colors[1], dtype=np.float32)
    return _to_uint8(c0 + t[..., None] * (c1 - c0))


def _rotated_coords(size: int, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates rotated by ``angle_deg``, in units of the texture side.

    Returns ``(u, v)``, each (S, S) float32: ``u`` runs along the direction ``angle_deg``
    (0 = +x, counter-clockwise towards +y), ``v`` across it.
    """
    xs = _pixel_centres(size) / np.float32(size)
    cos = np.float32(math.cos(math.radians(angle_deg)))
    sin = np.float32(math.sin(math.radians(angle_deg)))
    x = xs[None, :]
    y = xs[:, None]
    return x * cos + y * sin, y * cos - x * sin


def _edge_weight(distance_px: np.ndarray) -> np.ndarray:
    """Anti-aliasing: 0 on an edge, 1 from half a pixel away; float32 like the input."""
    return np.minimum(distance_px * np.float32(2.0), np.float32(1.0))


def _make_checker(params: dict[str, Any]) -> np.ndarray:
    """Rotated, anti-aliased checkerboard: (S, S, 3) uint8."""
    size, scale = int(params["size"]), float(params["scale"])
    u, v = _rotated_coords(size, float(params["angle"]))
    u = u * np.float32(scale) + np.float32(params["offset"][0])
    v = v * np.float32(scale) + np.float32(params["offset"][1])
    fu, fv = np.floor(u), np.floor(v)
    parity = np.remainder(fu + fv, np.float32(2.0))  # 0 or 1
    check_px = np.float32(size / scale)
    du = np.minimum(u - fu, fu + np.float32(1.0) - u) * check_px
    dv = np.minimum(v - fv, fv + np.float32(1.0) - v) * check_px
    sharp = _edge_weight(np.minimum(du, dv))
    t = np.float32(0.5) + (parity - np.float32(0.5)) * sharp
    return _two_tone(t, params["colors"])


def _make_stripes(params: dict[str, Any]) -> np.ndarray:
    """Rotated, anti-aliased stripes of two colours: (S, S, 3) uint8."""
    size, scale = int(params["size"]), float(params["scale"])
    ratio = np.float32(params["ratio"])
    u, _ = _rotated_coords(size, float(params["angle"]))
    w = u * np.float32(scale) + np.float32(params["phase"])
    f = w - np.floor(w)  # position inside the period, [0, 1)
    inside = (f < ratio).astype(np.float32)  # 1 in the first colour's band
    period_px = np.float32(size / scale)
    edge = np.minimum(np.minimum(f, np.float32(1.0) - f), np.abs(f - ratio)) * period_px
    t = np.float32(0.5) - (inside - np.float32(0.5)) * _edge_weight(edge)
    return _two_tone(t, params["colors"])


def _make_gradient(params: dict[str, Any]) -> np.ndarray:
    """Linear or radial gradient through 2-3 evenly spaced colour stops: (S, S, 3) uint8."""
    size = int(params["size"])
    xs = _pixel_centres(size) / np.float32(size)
    if params["mode"] == "radial":
        cx, cy = (np.float32(c) for c in params["center"])
        dx2 = (xs - cx) ** 2
        dy2 = (xs - cy) ** 2
        radius = max(math.hypot(a - float(cx), b - float(cy)) for a in (0, 1) for b in (0, 1))
        t: np.ndarray = np.sqrt(dy2[:, None] + dx2[None, :]) / np.float32(radius)
    else:
        angle = math.radians(float(params["angle"]))
        u, _ = _rotated_coords(size, float(params["angle"]))
        # u = x cos + y sin over the unit square spans centre +- half.
        centre = 0.5 * (math.cos(angle) + math.sin(angle))
        half = 0.5 * (abs(math.cos(angle)) + abs(math.sin(angle)))
        t = (u - np.float32(centre - half)) / np.float32(2.0 * half)
    t = np.clip(t, np.float32(0.0), np.float32(1.0))
    colors = np.asarray(params["colors"], dtype=np.float32)  # (n, 3)
    segments = len(colors) - 1
    s = t * np.float32(segments)
    index = np.minimum(np.floor(s), np.float32(segments - 1)).astype(np.intp)
    local = (s - index.astype(np.float32))[..., None]
    start, end = colors[index], colors[index + 1]
    return _to_uint8(start + local * (end - start))


def _bspline_weights(f: np.ndarray) -> tuple[np.ndarray, ...]:
    """Uniform cubic B-spline weights of the 4 taps around fraction ``f`` (float32, sum 1)."""
    one = np.float32(1.0)
    sixth = np.float32(1.0 / 6.0)
    g = one - f
    f2 = f * f
    f3 = f2 * f
    w0 = g * g * g * sixth
    w1 = (np.float32(3.0) * f3 - np.float32(6.0) * f2 + np.float32(4.0)) * sixth
    w2 = (np.float32(-3.0) * f3 + np.float32(3.0) * f2 + np.float32(3.0) * f + one) * sixth
    w3 = f3 * sixth
    return w0, w1, w2, w3


def _periodic_upsample(grid: np.ndarray, size: int) -> np.ndarray:
    """Smooth, tileable upsampling of a (g, g) float32 grid to (S, S) float32.

    Grid values sit at cell centres; a uniform cubic B-spline (C2-smooth, no grid-aligned
    plateaus) blends the 4 x 4 nearest, wrapping around the edges, separably along x then y.
    """
    cells = grid.shape[0]
    x = (np.arange(size, dtype=np.float64) + 0.5) * (cells / size) - 0.5
    base = np.floor(x)
    weights = _bspline_weights((x - base).astype(np.float32))
    taps = [(base.astype(np.intp) + k) % cells for k in (-1, 0, 1, 2)]
    rows = sum(grid[:, tap] * w for tap, w in zip(taps, weights, strict=True))  # (g, S)
    return sum(rows[tap, :] * w[:, None] for tap, w in zip(taps, weights, strict=True))


def _make_road(params: dict[str, Any]) -> np.ndarray:
    """Asphalt grain with a lane line along the texture's left edge, solid (``dashes`` = 0)
    or with that many dashes per repeat: (S, S, 3) uint8. Tiles seamlessly."""
    size = int(params["size"])
    asphalt = _make_noise({**params, "octaves": 3, "persistence": 0.5}).astype(np.float32)
    u = _pixel_centres(size) / size
    line_u = u < float(params["line_width"])
    dashes = int(params["dashes"])
    line_v = (np.floor(u * dashes * 2) % 2 == 0) if dashes else np.ones(size, dtype=bool)
    paint = line_v[:, None] & line_u[None, :]  # rows run along v (the lane), columns along u
    asphalt[paint] = 255.0 * np.asarray(params["line_color"], dtype=np.float32)
    return np.ascontiguousarray(np.clip(np.rint(asphalt), 0, 255).astype(np.uint8))


def _make_noise(params: dict[str, Any]) -> np.ndarray:
    """Tileable fractal value noise, min-max stretched between two colours: (S, S, 3) uint8."""
    size = int(params["size"])
    rng = np.random.default_rng(int(params["seed"]))
    total = np.zeros((size, size), dtype=np.float32)
    amplitude = 1.0
    for octave in range(int(params["octaves"])):
        cells = min(size, max(2, round(float(params["scale"]) * 2**octave)))
        grid = rng.random((cells, cells), dtype=np.float32)
        total += np.float32(amplitude) * _periodic_upsample(grid, size)
        amplitude *= float(params["persistence"])
    low, high = total.min(), total.max()
    t = (total - low) / (high - low) if high > low else np.zeros_like(total)
    return _two_tone(t, params["colors"])


def _blob_window(center: float, half: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Wrapped pixel indices around ``center`` and their periodic offsets from it.

    Returns ``(index, offset)``: (n,) intp indices into [0, S) and (n,) float32 signed
    distances (pixel centre minus ``center``, wrapped to [-S/2, S/2)); n <= S.
    """
    start = math.floor(center - half)
    count = min(size, math.ceil(center + half) - start + 1)
    index = (np.arange(start, start + count) % size).astype(np.intp)
    offset = index.astype(np.float32) + np.float32(0.5 - center)
    half_size = np.float32(size / 2)
    offset = np.remainder(offset + half_size, np.float32(size)) - half_size
    return index, offset


def _make_blotches(params: dict[str, Any]) -> np.ndarray:
    """Soft-edged random ellipses (tileable) over a base colour: (S, S, 3) uint8."""
    size, scale = int(params["size"]), float(params["scale"])
    colors = np.asarray(params["colors"], dtype=np.float32)
    rng = np.random.default_rng(int(params["seed"]))
    image = np.broadcast_to(colors[0], (size, size, 3)).copy()
    count = int(min(1024, max(1, round(scale * scale))))
    mean_radius = 0.5 * size / scale
    for _ in range(count):
        cx, cy = rng.uniform(0.0, size, 2)
        a = mean_radius * rng.uniform(0.5, 1.5)
        b = a * rng.uniform(0.4, 1.0)
        theta = rng.uniform(0.0, math.pi)
        softness = rng.uniform(0.15, 0.6)
        color = colors[1 + int(rng.integers(len(colors) - 1))]
        cols, dx = _blob_window(float(cx), a, size)
        rows, dy = _blob_window(float(cy), a, size)
        cos, sin = np.float32(math.cos(theta) / a), np.float32(math.sin(theta) / a)
        cos_b, sin_b = np.float32(math.cos(theta) / b), np.float32(math.sin(theta) / b)
        along = dx[None, :] * cos + dy[:, None] * sin
        across = dy[:, None] * cos_b - dx[None, :] * sin_b
        q = along * along + across * across  # 1 on the ellipse's rim
        alpha = np.clip((np.float32(1.0) - q) / np.float32(softness), 0.0, 1.0)
        alpha = (alpha * alpha * (np.float32(3.0) - np.float32(2.0) * alpha))[..., None]
        window = np.ix_(rows, cols)
        under = image[window]
        image[window] = under + alpha * (color - under)
    return _to_uint8(image)


def _make_image(params: dict[str, Any]) -> np.ndarray:
    """Crop, resize (INTER_AREA), flip and rotate a folder image: (S, S, 3) uint8."""
    import cv2

    size = int(params["size"])
    x0, y0, w, h = (int(v) for v in params["crop"])
    source = _load_rgb(str(params["path"]))
    crop = source[y0 : y0 + h, x0 : x0 + w]
    if crop.shape[:2] != (h, w) or min(x0, y0) < 0:
        raise ValueError(f"crop {params['crop']} lies outside {params['path']} ({source.shape})")
    out = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    if params["flip"]:
        out = out[:, ::-1]
    out = np.rot90(out, int(params["rotate90"]) % 4)
    return np.ascontiguousarray(out, dtype=np.uint8)


_MAKERS = {
    "noise": _make_noise,
    "road": _make_road,
    "checker": _make_checker,
    "stripes": _make_stripes,
    "gradient": _make_gradient,
    "blotches": _make_blotches,
    "image": _make_image,
}


def make_texture(params: dict[str, Any]) -> np.ndarray:
    """Generate the texture described by a dict from :func:`sample_texture`.

    Pure and deterministic: the same dict (also after a JSON round trip) gives the same bytes.
    Folder images are decoded through a per-process LRU cache of :data:`IMAGE_CACHE_SIZE`
    images, which changes speed only.

    Args:
        params: drawn parameters (see the module docstring for each kind's keys).

    Returns:
        (S, S, 3) uint8 RGB, C-contiguous, with ``S = params["size"]``; a new array each call.

    Raises:
        ValueError: unknown kind, or an image crop outside its image.
    """
    kind = params.get("kind")
    if kind not in _MAKERS:
        raise ValueError(f"unknown texture kind {kind!r} (expected one of {sorted(_MAKERS)})")
    return _MAKERS[kind](params)


# ---------------------------------------------------------------------------------------------
# UVs for meshes without their own


def texture_uvs(vertices: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
    """Box (triplanar) projection UVs for a mesh that has none.

    Each vertex is projected onto the plane perpendicular to the dominant axis of its normal
    (ties go to x, then y): +-x uses (y, z), +-y uses (x, z), +-z uses (x, y); on negative-facing
    sides the first coordinate is mirrored so the texture is not seen flipped. Coordinates are
    offset by the bounding-box minimum (or maximum, when mirrored) and divided by the largest
    bounding-box side, so UVs lie in [0, 1] and one texture repeat spans the object's largest
    extent. Box projection was chosen over spherical mapping: no pole singularities and
    undistorted on the flat faces of boxes, cylinders and most man-made parts.

    Shared vertices get one projection, so faces whose corners pick different axes (every
    face of an 8-vertex box, whose corner normals are diagonal) are smeared. For sharp-edged
    meshes unmerge first: ``mesh.unmerge_vertices()`` (trimesh), then pass ``mesh.vertices``
    and ``mesh.vertex_normals`` (each then equals its face's normal).

    Args:
        vertices: (N, 3) float positions in the object frame.
        normals: (N, 3) float vertex normals; ``None`` uses the direction from the
            bounding-box centre to each vertex (fine for convex, roughly round shapes).

    Returns:
        (N, 2) float64 UVs in [0, 1].
    """
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    if len(vertices) == 0:
        return np.zeros((0, 2), dtype=np.float64)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    if normals is None:
        normals = vertices - (low + high) / 2.0
    normals = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
    if normals.shape != vertices.shape:
        raise ValueError(f"normals {normals.shape} do not match vertices {vertices.shape}")
    extent = float((high - low).max())
    unit = (vertices - low) / (extent if extent > 0 else 1.0)  # [0, 1] per axis
    mirrored = (high - vertices) / (extent if extent > 0 else 1.0)
    axis = np.argmax(np.abs(normals), axis=1)  # (N,) dominant axis 0/1/2
    rows = np.arange(len(vertices))
    negative = normals[rows, axis] < 0
    # Plane axes per dominant axis: x -> (y, z), y -> (x, z), z -> (x, y). Seen from outside,
    # u increases to the right on +x, -y and +z faces; the others are mirrored.
    first = np.array([1, 0, 0])[axis]
    second = np.array([2, 2, 1])[axis]
    mirror = negative != (axis == 1)
    u = np.where(mirror, mirrored[rows, first], unit[rows, first])
    v = unit[rows, second]
    return np.stack([u, v], axis=1)
