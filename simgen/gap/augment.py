"""Training-time image augmentation for the gap detector, on numpy uint8 images.

The detector sees letterboxed ``(H, W, 3)`` uint8 RGB images (square by default; grey 114
padding, see :func:`simgen.gap.data.letterbox`) with ``(M, 4)`` float32 boxes
``x0, y0, x1, y1`` in pixels.
Augmentation is split in two halves:

* :func:`sample_augment` draws every random value for one image from an explicitly passed,
  seeded :class:`numpy.random.Generator` and returns a frozen :class:`AugmentParams`;
* :func:`apply_augment` is a pure function of ``(image, boxes, params)``: the same inputs give
  the same output bytes, so a params record (:meth:`AugmentParams.to_dict`) replays an image.

:func:`augment_image` does both. ``AugmentConfig(enabled=False)`` draws nothing and gives the
identity (image bytes unchanged; boxes inside the image and at least 2 px wide and high
unchanged), for test images and the plain copy of a training image.

Ops, in the order they are applied, with the defaults of :data:`DEFAULT_AUGMENT`. Each op is
applied with its own probability ``p_*``; a skipped op stores its identity value in the params.

1. **Scale/crop jitter** (``p_affine`` 0.8): zoom about the image centre by a factor from
   ``zoom`` (0.75, 1.35) (> 1 crops in, < 1 shrinks the picture and pads with grey 114), then
   shift each axis by up to ``shift`` (0.25) times the image size. One ``cv2.warpAffine``
   (bilinear, constant border 114); boxes go through the same matrix exactly, are clipped to the
   image, and boxes less than 2 px wide or high after clipping are dropped.
2. **Horizontal flip** (``flip`` False; when True, ``p_flip`` 0.5), folded into the same warp.
   Off by default: a mirror image of a chiral object (most LM-O objects: the drill, the
   watering can, the glue bottle …) is a shape that never occurs in a photograph, so flipping
   teaches the detector views it will never be tested on and blurs the classes' shape cues.
   Turn it on only for mirror-symmetric object sets.
3. **HSV jitter** (``p_hsv`` 0.8): hue shifted by ``hue_deg`` (-10, 10) degrees, saturation
   and value multiplied by gains from ``saturation`` (0.7, 1.3) and ``value`` (0.7, 1.3).
4. **Per-channel gain** (``p_gain`` 0.5), a white-balance error: R, G and B each multiplied by
   its own factor from ``gain`` (0.85, 1.15).
5. **Gaussian blur** (``p_blur`` 0.5), defocus and motion softness: sigma from ``blur_sigma``
   (0.0, 1.5) pixels; kernel ``2 * ceil(3 * sigma) + 1``; sigma 0 is the identity.
6. **Sensor noise** (``p_noise`` 0.5): zero-mean Gaussian noise, independent per pixel and
   channel, with a standard deviation from ``noise_std`` (0, 8) in 0-255 levels. The noise
   field comes from a generator seeded with ``params.noise_seed``, so it replays exactly.
7. **JPEG re-encoding** (``p_jpeg`` 0.5): ``cv2.imencode``/``cv2.imdecode`` at a quality from
   ``jpeg_quality`` (40, 95), integers inclusive: block and ringing artefacts of real cameras.
8. **Cutout** (``p_cutout`` 0.5): ``cutout_count`` (1, 4) rectangles, integers inclusive, each
   side a fraction ``cutout_size`` (0.05, 0.2) of the image size, centred anywhere in the image,
   filled with grey 114 or, with probability ``p_cutout_color`` 0.5, a random colour. Boxes are
   unchanged (the occluded object is still there), as in detector training with occlusion.

Ops 3-6 work on one float32 copy that is rounded to uint8 once, after the noise.

The photometric probabilities (0.5-0.8) and ranges are modelled on the colour augmentation
that BOP / GDRNPP-style detector training uses for LM-O; they are moderate, because the
synthetic renders already vary lighting and materials.

Draw order (fixes which image gets which values): for an enabled config, in the order of the
list above, each op draws ``u = rng.random()`` (applied if ``u < p``) and then all of its
values, whether or not it is applied: affine (u, zoom, shift x, shift y), flip (u), HSV (u,
hue, saturation, value), gain (u, three gains), blur (u, sigma), noise (u, std, seed), JPEG (u,
quality), cutout (u, count, then for each of ``cutout_count[1]`` rectangles: centre x, centre
y, width, height, u colour, three colour levels). Every image thus consumes the same number of
draws, and changing one probability never changes the values drawn for the others or for the
next images.

Coordinates: boxes use continuous pixel-edge coordinates (the image spans ``[0, W] x [0, H]``, pixel
``i`` covers ``[i, i + 1]``); OpenCV's warp uses pixel centres at integer coordinates, and
:func:`affine_matrix` converts between the two, so boxes and pixels stay aligned to sub-pixel
accuracy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simgen.errors import SimgenError
from simgen.ranges import (
    Count0To64Range,
    OpenZeroOneRange,
    OpenZeroTenRange,
    PlusMinus180Range,
    Probability,
    Quality1To100Range,
    Zero255Range,
    ZeroTenRange,
    ZeroTwentyRange,
)

PAD_VALUE = 114
"""Grey level of the letterbox padding, the warp border and grey cutout rectangles."""

MIN_BOX_SIDE = 2.0
"""A box narrower or lower than this many pixels after clipping is dropped."""


class AugmentConfig(BaseModel):
    """Probabilities and ranges of the training augmentation; ranges are ``[min, max]``,
    sampled uniformly (integers inclusive), ``min == max`` fixes the value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True,
        description="False: the identity (no draws; image bytes unchanged; boxes only clipped "
        "to the image, those under 2 px dropped).",
    )
    p_affine: Probability = Field(0.8, description="Probability of the zoom/shift warp.")
    zoom: OpenZeroTenRange = Field(
        (0.75, 1.35), description="Zoom factor about the image centre (> 1 crops in)."
    )
    shift: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Largest shift per axis as a fraction of the image size (drawn uniformly "
        "in [-shift, shift]).",
    )
    flip: bool = Field(
        False,
        description="Allow horizontal flips. Off: mirror images of chiral objects never occur "
        "in photos.",
    )
    p_flip: Probability = Field(0.5, description="Probability of a flip when 'flip' is true.")
    p_hsv: Probability = Field(0.8, description="Probability of the HSV jitter.")
    hue_deg: PlusMinus180Range = Field((-10.0, 10.0), description="Hue shift in degrees.")
    saturation: ZeroTenRange = Field((0.7, 1.3), description="Saturation gain.")
    value: ZeroTenRange = Field((0.7, 1.3), description="Value (brightness) gain.")
    p_gain: Probability = Field(0.5, description="Probability of the per-channel gain.")
    gain: ZeroTenRange = Field(
        (0.85, 1.15), description="Per-channel (white balance) gain, drawn for R, G, B."
    )
    p_blur: Probability = Field(0.5, description="Probability of the Gaussian blur.")
    blur_sigma: ZeroTwentyRange = Field((0.0, 1.5), description="Blur sigma in pixels.")
    p_noise: Probability = Field(0.5, description="Probability of sensor noise.")
    noise_std: Zero255Range = Field(
        (0.0, 8.0), description="Gaussian noise standard deviation in 0-255 levels."
    )
    p_jpeg: Probability = Field(0.5, description="Probability of JPEG re-encoding.")
    jpeg_quality: Quality1To100Range = Field((40, 95), description="JPEG quality (1-100).")
    p_cutout: Probability = Field(0.5, description="Probability of cutout.")
    cutout_count: Count0To64Range = Field((1, 4), description="Number of cutout rectangles.")
    cutout_size: OpenZeroOneRange = Field(
        (0.05, 0.2), description="Side of a cutout rectangle as a fraction of the image size."
    )
    p_cutout_color: Probability = Field(
        0.5, description="Probability that a rectangle gets a random colour instead of grey 114."
    )


DEFAULT_AUGMENT = AugmentConfig()
"""The default training augmentation (see the module docstring for every op and range)."""

Rect = tuple[int, int, int, int, int, int, int]
"""A cutout rectangle: ``x0, y0, x1, y1`` (pixel edges, ``x1``/``y1`` exclusive) and ``r, g, b``."""


def _shape(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of a size given as a square's side ``S`` or as that pair."""
    return (size, size) if isinstance(size, int) else size


@dataclass(frozen=True)
class AugmentParams:
    """Every value drawn for one image; the defaults are the identity.

    Attributes:
        size: the image the params were drawn for: side ``S`` of a square one, or
            ``(height, width)``.
        zoom: zoom factor about the image centre.
        shift: ``(dx, dy)`` translation in pixels, applied after the zoom.
        flip: mirror horizontally (after zoom and shift).
        hue_deg: hue shift in degrees.
        saturation: saturation gain.
        value: value (brightness) gain.
        gain: ``(r, g, b)`` per-channel gains.
        blur_sigma: Gaussian blur sigma in pixels; 0 is no blur.
        noise_std: noise standard deviation in 0-255 levels; 0 is no noise.
        noise_seed: seed of the noise generator.
        jpeg_quality: JPEG quality, or None for no re-encoding.
        cutout: rectangles to fill, each ``(x0, y0, x1, y1, r, g, b)``.
    """

    size: int | tuple[int, int]
    zoom: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False
    hue_deg: float = 0.0
    saturation: float = 1.0
    value: float = 1.0
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    blur_sigma: float = 0.0
    noise_std: float = 0.0
    noise_seed: int = 0
    jpeg_quality: int | None = None
    cutout: tuple[Rect, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        """The image's ``(height, width)``."""
        return _shape(self.size)

    @property
    def is_identity(self) -> bool:
        """True when :func:`apply_augment` leaves the image bytes unchanged."""
        return self == AugmentParams(size=self.size, noise_seed=self.noise_seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (tuples become lists); :meth:`from_dict` reads it back."""
        data = dataclasses.asdict(self)
        data["shift"] = list(self.shift)
        if not isinstance(self.size, int):
            data["size"] = list(self.size)
        data["gain"] = list(self.gain)
        data["cutout"] = [list(rect) for rect in self.cutout]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentParams:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        if isinstance(values.get("size"), list):
            values["size"] = tuple(int(v) for v in values["size"])
        values["shift"] = tuple(float(v) for v in values.get("shift", (0.0, 0.0)))
        values["gain"] = tuple(float(v) for v in values.get("gain", (1.0, 1.0, 1.0)))
        values["cutout"] = tuple(tuple(int(v) for v in rect) for rect in values.get("cutout", ()))
        return cls(**values)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _integer(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def sample_augment(
    rng: np.random.Generator, config: AugmentConfig, size: int | tuple[int, int]
) -> AugmentParams:
    """Draw the augmentation of one image (draw order: module docstring).

    Args:
        rng: the seeded generator to draw from (advanced in place; nothing is drawn when
            ``config.enabled`` is false).
        config: probabilities and ranges.
        size: the image the params will be applied to: side ``S`` of a square one, or
            ``(height, width)`` in pixels; shifts and cutouts scale with each axis's side.

    Returns:
        The drawn params; skipped ops hold their identity values.
    """
    height, width = _shape(size)
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive (got {size})")
    if not config.enabled:
        return AugmentParams(size=size)
    sides = np.array([width, height])

    affine = rng.random() < config.p_affine
    zoom = _uniform(rng, config.zoom)
    shift = rng.uniform(-config.shift, config.shift, size=2) * sides
    flip = bool(rng.random() < config.p_flip) and config.flip

    hsv = rng.random() < config.p_hsv
    hue, sat, val = (_uniform(rng, r) for r in (config.hue_deg, config.saturation, config.value))

    gain_on = rng.random() < config.p_gain
    drawn_gains = rng.uniform(config.gain[0], config.gain[1], size=3)
    gains = (float(drawn_gains[0]), float(drawn_gains[1]), float(drawn_gains[2]))

    blur = rng.random() < config.p_blur
    sigma = _uniform(rng, config.blur_sigma)

    noise = rng.random() < config.p_noise
    std = _uniform(rng, config.noise_std)
    noise_seed = int(rng.integers(2**31))

    jpeg = rng.random() < config.p_jpeg
    quality = _integer(rng, config.jpeg_quality)

    cutout = rng.random() < config.p_cutout
    count = _integer(rng, config.cutout_count)
    rects: list[Rect] = []
    for _ in range(config.cutout_count[1]):
        cx, cy = rng.uniform(0.0, 1.0, size=2) * sides
        w, h = (max(1, round(_uniform(rng, config.cutout_size) * side)) for side in sides)
        colored = rng.random() < config.p_cutout_color
        color = rng.integers(0, 256, size=3)
        left, top = round(cx - w / 2), round(cy - h / 2)
        fill = (int(color[0]), int(color[1]), int(color[2])) if colored else (PAD_VALUE,) * 3
        rects.append((max(0, left), max(0, top), min(width, left + w), min(height, top + h), *fill))

    return AugmentParams(
        size=size,
        zoom=zoom if affine else 1.0,
        shift=(float(shift[0]), float(shift[1])) if affine else (0.0, 0.0),
        flip=flip,
        hue_deg=hue if hsv else 0.0,
        saturation=sat if hsv else 1.0,
        value=val if hsv else 1.0,
        gain=gains if gain_on else (1.0, 1.0, 1.0),
        blur_sigma=sigma if blur else 0.0,
        noise_std=std if noise else 0.0,
        noise_seed=noise_seed,
        jpeg_quality=quality if jpeg else None,
        cutout=tuple(rects[:count]) if cutout else (),
    )


def affine_matrix(params: AugmentParams, *, pixel_centres: bool = False) -> np.ndarray:
    """The geometric part of ``params`` as a 2x3 matrix mapping input to output points.

    Args:
        params: drawn params.
        pixel_centres: False: continuous pixel-edge coordinates (boxes; the image spans
            ``[0, W] x [0, H]``); True: OpenCV's convention (pixel ``i`` centred at ``i``), for
            ``cv2.warpAffine``.

    Returns:
        (2, 3) float64 ``[A | b]`` with ``out = A @ p + b``.
    """
    height, width = params.shape
    centre = np.array([width / 2.0, height / 2.0])
    sign = -1.0 if params.flip else 1.0
    a = np.diag([sign * params.zoom, params.zoom])
    b = centre - a @ centre
    b += np.array([sign * params.shift[0], params.shift[1]])
    if pixel_centres:
        # Edge coordinates are centre coordinates + 0.5:  q' + 0.5 = A (q + 0.5) + b.
        b = b + a @ np.array([0.5, 0.5]) - 0.5
    return np.concatenate([a, b[:, None]], axis=1)


def transform_boxes(boxes: np.ndarray, params: AugmentParams) -> tuple[np.ndarray, np.ndarray]:
    """Apply the geometry of ``params`` to boxes, clip them to the image and mark survivors.

    Args:
        boxes: (M, 4) float ``x0, y0, x1, y1`` in pixel-edge coordinates.
        params: drawn params.

    Returns:
        ``(boxes, keep)``: (M, 4) float32 transformed and clipped to the image (all of them),
        and (M,) bool, True where the clipped box is at least 2 px wide and high.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    matrix = affine_matrix(params)
    xs = boxes[:, [0, 2]] * matrix[0, 0] + matrix[0, 2]
    ys = boxes[:, [1, 3]] * matrix[1, 1] + matrix[1, 2]
    out = np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)
    height, width = params.shape
    out = np.clip(out, 0.0, [float(width), float(height), float(width), float(height)])
    keep = ((out[:, 2] - out[:, 0]) >= MIN_BOX_SIDE) & ((out[:, 3] - out[:, 1]) >= MIN_BOX_SIDE)
    return out.astype(np.float32), keep


def _warp(image: np.ndarray, params: AugmentParams) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 3) uint8 zoomed, shifted and flipped; grey 114 outside."""
    if params.zoom == 1.0 and params.shift == (0.0, 0.0) and not params.flip:
        return image
    return cv2.warpAffine(
        image,
        affine_matrix(params, pixel_centres=True),
        (params.shape[1], params.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
    )


def _hsv(image: np.ndarray, hue_deg: float, saturation: float, value: float) -> np.ndarray:
    """(S, S, 3) float32 RGB in 0-255 -> same, hue shifted and saturation/value scaled."""
    hsv = cv2.cvtColor(image / np.float32(255.0), cv2.COLOR_RGB2HSV)
    hsv[:, :, 0] = np.mod(hsv[:, :, 0] + np.float32(hue_deg), np.float32(360.0))
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * np.float32(saturation), 0.0, 1.0)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] * np.float32(value), 0.0, 1.0)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * np.float32(255.0)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """(S, S, 3) float32 -> same, Gaussian-blurred with ``sigma`` pixels (reflected border)."""
    ksize = 2 * math.ceil(3.0 * sigma) + 1
    return cv2.GaussianBlur(image, (ksize, ksize), sigmaX=sigma, sigmaY=sigma)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """(S, S, 3) uint8 RGB -> same after a JPEG encode/decode round trip at ``quality``."""
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(decoded[:, :, ::-1])


def apply_augment(
    image: np.ndarray, boxes: np.ndarray, params: AugmentParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Augment one image and its boxes with drawn params (a pure function; inputs untouched).

    Args:
        image: (H, W, 3) uint8 RGB, ``(H, W) == params.shape`` (letterboxed, grey 114 padding).
        boxes: (M, 4) float ``x0, y0, x1, y1`` in pixels (pixel-edge coordinates).
        params: from :func:`sample_augment` (or a replayed record).

    Returns:
        ``(image, boxes, keep)``: (H, W, 3) uint8 RGB; (K, 4) float32 boxes, transformed,
        clipped to the image and filtered by ``keep``; (M,) bool, True for the input boxes
        that are still at least 2 px wide and high. Same inputs give identical bytes.
    """
    height, width = params.shape
    if image.dtype != np.uint8 or image.shape != (height, width, 3):
        raise ValueError(
            f"expected a ({height}, {width}, 3) uint8 image, got {image.shape} {image.dtype}"
        )
    out_boxes, keep = transform_boxes(boxes, params)
    out = _warp(image, params)

    photometric = (
        (params.hue_deg, params.saturation, params.value) != (0.0, 1.0, 1.0)
        or params.gain != (1.0, 1.0, 1.0)
        or params.blur_sigma > 0.0
        or params.noise_std > 0.0
    )
    if photometric:
        work = out.astype(np.float32)
        if (params.hue_deg, params.saturation, params.value) != (0.0, 1.0, 1.0):
            work = _hsv(work, params.hue_deg, params.saturation, params.value)
        if params.gain != (1.0, 1.0, 1.0):
            work = work * np.asarray(params.gain, dtype=np.float32)
        if params.blur_sigma > 0.0:
            work = _blur(work, params.blur_sigma)
        if params.noise_std > 0.0:
            noise_rng = np.random.Generator(np.random.PCG64(params.noise_seed))
            noise = noise_rng.standard_normal(work.shape, dtype=np.float32)
            work = work + noise * np.float32(params.noise_std)
        out = np.clip(np.rint(work), 0, 255).astype(np.uint8)

    if params.jpeg_quality is not None:
        out = _jpeg(out, params.jpeg_quality)

    if params.cutout:
        out = out.copy() if out is image else out
        for x0, y0, x1, y1, r, g, b in params.cutout:
            out[y0:y1, x0:x1] = (r, g, b)

    if out is image:
        out = image.copy()
    return out, out_boxes[keep], keep


def augment_image(
    image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sample_augment` then :func:`apply_augment` (same shapes and dtypes).

    Args:
        image: (H, W, 3) uint8 RGB.
        boxes: (M, 4) float ``x0, y0, x1, y1`` in pixels.
        rng: the seeded generator to draw from.
        config: probabilities and ranges.

    Returns:
        ``(image, boxes, keep)`` as :func:`apply_augment`: (H, W, 3) uint8, (K, 4) float32,
        (M,) bool.
    """
    height, width = image.shape[:2]
    params = sample_augment(rng, config, height if height == width else (height, width))
    return apply_augment(image, boxes, params)


def load_augment_config(path: str | Path) -> AugmentConfig:
    """Read an augmentation config from a YAML mapping of :class:`AugmentConfig` fields.

    An empty file gives the defaults.

    Raises:
        SimgenError: unreadable file, invalid YAML or an invalid field, on one line naming
            the file and the field.
    """
    from simgen.config import _validation_message, read_yaml

    source = Path(path)
    data = read_yaml(source, allow_empty=True)
    try:
        return AugmentConfig.model_validate(data)
    except ValidationError as exc:
        field, msg = _validation_message(exc)
        raise SimgenError(msg, file=source, field=field or None) from None
