"""Pure image operations of compositing: warp a cut-out, match it to a background, blend it.

Nothing here draws random numbers; :mod:`simgen.composite.compose` decides the parameters (the
noise of :func:`match_appearance` comes from a seed drawn there).

Label rule: an instance's pixels are its warped mask ``M`` (bilinear warp of the source mask,
threshold 0.5), minus the masks of instances pasted later. Every blend mode is built so that
this is exact:

- ``hard``: output = patch on ``M``, background elsewhere.
- ``feather``: alpha from the signed distance to ``M``'s edge, > 0.5 on every pixel of ``M``
  and < 0.5 on every other pixel, so the patch dominates exactly on ``M``.
- ``difference``: the target keeps its own surface; the defect's deviation from its source
  surface (:func:`surface_estimate`) is added on ``M`` and, fading out, on a rim of
  ``rim_px`` around it (the defect's halo; 0: exactly ``M`` changes).
- ``poisson``: OpenCV seamless cloning on ``M`` grown by a margin of source context; pixels
  outside that region are restored to the background, so nothing else changes. The defect
  pixels are ``M``; the margin carries the source's surface around it, blended in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Blend = str
"""``hard``, ``feather``, ``poisson`` or ``difference``."""

NOISE_RESIDUAL = 0.94
"""Spread of ``x - GaussianBlur(x, 1)`` for white noise of spread 1 (measures noise levels)."""


@dataclass(frozen=True)
class Warped:
    """A cut-out after rotation, scaling and flipping.

    Attributes:
        patch: (h, w, 3) float32 RGB in [0, 255].
        mask: (h, w) bool, the instance (``M``).
        valid: (h, w) bool, pixels that came from the source image (not border fill).
    """

    patch: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)

    @property
    def mask_box(self) -> tuple[int, int, int, int]:
        """Half-open ``(x0, y0, x1, y1)`` of the mask inside the patch."""
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def warp_cutout(
    patch: np.ndarray,
    mask: np.ndarray,
    *,
    angle_deg: float,
    scale: float,
    flip_horizontal: bool,
    flip_vertical: bool,
    context: int,
) -> Warped | None:
    """Flip, rotate (about the centre) and scale a cut-out; crop to the mask plus ``context``.

    Args:
        patch: (h, w, 3) uint8 RGB.
        mask: (h, w) bool.
        angle_deg: counter-clockwise rotation in degrees.
        scale: size factor (> 0).
        flip_horizontal, flip_vertical: mirror before rotating.
        context: pixels kept around the warped mask.

    Returns:
        The warped cut-out, or ``None`` when the mask vanishes (scaled below half a pixel).
    """
    import cv2

    if flip_horizontal:
        patch, mask = patch[:, ::-1], mask[:, ::-1]
    if flip_vertical:
        patch, mask = patch[::-1], mask[::-1]
    height, width = mask.shape
    centre = ((width - 1) / 2.0, (height - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, float(angle_deg), float(scale))
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    moved = corners @ matrix.T
    lo = np.floor(moved.min(axis=0)) - 1
    hi = np.ceil(moved.max(axis=0)) + 1
    matrix[:, 2] -= lo
    size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    flags = cv2.INTER_LINEAR
    src = np.ascontiguousarray(patch, dtype=np.float32)
    warped = cv2.warpAffine(src, matrix, size, flags=flags, borderMode=cv2.BORDER_REFLECT101)
    soft = cv2.warpAffine(
        np.ascontiguousarray(mask, dtype=np.float32), matrix, size, flags=flags, borderValue=0.0
    )
    inside = cv2.warpAffine(
        np.ones(mask.shape, np.float32), matrix, size, flags=flags, borderValue=0.0
    )
    new_mask = soft >= 0.5
    if not new_mask.any():
        return None
    ys, xs = np.nonzero(new_mask)
    y0, y1 = max(int(ys.min()) - context, 0), min(int(ys.max()) + 1 + context, size[1])
    x0, x1 = max(int(xs.min()) - context, 0), min(int(xs.max()) + 1 + context, size[0])
    return Warped(
        patch=warped[y0:y1, x0:x1],
        mask=new_mask[y0:y1, x0:x1],
        valid=inside[y0:y1, x0:x1] >= 0.999,
    )


def foreground_region(rgb: np.ndarray, threshold: float) -> np.ndarray:
    """(H, W) bool: the bright part of a background (the part's surface, not its surroundings).

    Pixels whose median-filtered (5x5) intensity exceeds ``threshold`` times the image's median,
    holes filled by a closing, the largest connected component kept. An image without such a
    part returns all True.

    Args:
        rgb: (H, W, 3) uint8.
        threshold: fraction of the median intensity.
    """
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    smooth = cv2.medianBlur(gray, 5)  # removes specks, keeps the part's edge in place
    median = float(np.median(smooth))
    region = (smooth > threshold * median).astype(np.uint8)
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    if count <= 1:
        return np.ones(gray.shape, bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def sharpness(gray: np.ndarray, where: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of an (h, w) float32 image (over ``where`` if given)."""
    import cv2

    lap = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F, ksize=3)
    values = lap[where] if where is not None else lap
    return float(values.var()) if values.size else 0.0


def noise_level(gray: np.ndarray, where: np.ndarray | None = None) -> float:
    """Robust spread (1.4826 x median absolute deviation) of ``gray - GaussianBlur(gray, 1)`` of
    an (h, w) float32 image, over ``where`` if given: the noise a smooth surface carries."""
    import cv2

    gray = gray.astype(np.float32)
    residual = gray - cv2.GaussianBlur(gray, (0, 0), 1.0)
    values = residual[where] if where is not None else residual.ravel()
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


BLUR_STEPS = (0.0, 0.5, 0.8, 1.2, 1.6, 2.2, 3.0)
"""Gaussian sigmas tried when matching a patch's sharpness to its background."""


def match_appearance(
    warped: Warped,
    background: np.ndarray,
    *,
    match_brightness: bool,
    match_blur: bool,
    offset: float,
    gain: float,
    noise_seed: int | None = None,
) -> tuple[Warped, float]:
    """Photometric matching of a warped patch to the background window it lands on.

    Brightness: the patch's surroundings (valid pixels outside the mask; the whole patch when
    there are fewer than 16) get the mean and spread of ``background`` (per channel, the spread
    ratio clipped to [0.67, 1.5]), so the defect keeps its contrast to its own surface. Then a
    jitter: ``(p - mean) * gain + mean + 255 * offset``. Blur: when the patch is sharper than
    the background, the Gaussian sigma in :data:`BLUR_STEPS` whose result is closest in
    sharpness is applied.

    Args:
        warped: the cut-out.
        background: (h, w, 3) uint8 background pixels under the patch (same size).
        match_brightness, match_blur: switch the two matchings.
        offset: brightness offset in [0, 1] units.
        gain: contrast gain.
        noise_seed: match the noise too: when the background's noise level (:func:`noise_level`)
            exceeds the blurred patch's, Gaussian noise (one field for all channels, from
            ``numpy.random.default_rng(noise_seed)``) brings the patch up to it.

    Returns:
        ``(matched cut-out, blur sigma applied)``; the mask is unchanged.
    """
    import cv2

    patch = warped.patch.astype(np.float32).copy()
    bg = background.astype(np.float32)
    ring = warped.valid & ~warped.mask
    if ring.sum() < 16:
        ring = warped.valid
    if match_brightness:
        for c in range(3):
            p_mean, p_std = float(patch[..., c][ring].mean()), float(patch[..., c][ring].std())
            b_mean, b_std = float(bg[..., c].mean()), float(bg[..., c].std())
            ratio = float(np.clip(b_std / p_std, 0.67, 1.5)) if p_std > 1e-3 else 1.0
            patch[..., c] = (patch[..., c] - p_mean) * ratio + b_mean
    mean = float(patch[warped.valid].mean())
    patch = (patch - mean) * gain + mean + 255.0 * offset
    sigma = 0.0
    if match_blur:
        target = sharpness(bg.mean(axis=2))
        gray = patch.mean(axis=2)
        if sharpness(gray, warped.valid) > 1.2 * target:
            best = (abs(np.log((sharpness(gray, warped.valid) + 1e-6) / (target + 1e-6))), 0.0)
            for step in BLUR_STEPS[1:]:
                blurred = cv2.GaussianBlur(gray, (0, 0), step)
                error = abs(np.log((sharpness(blurred, warped.valid) + 1e-6) / (target + 1e-6)))
                best = min(best, (error, step))
            sigma = best[1]
            if sigma > 0:
                patch = cv2.GaussianBlur(patch, (0, 0), sigma)
    if noise_seed is not None:
        own = noise_level(patch.mean(axis=2), warped.valid)
        missing = noise_level(bg.mean(axis=2)) ** 2 - own**2
        if missing > 0:
            field = np.random.default_rng(noise_seed).standard_normal(patch.shape[:2])
            added = np.sqrt(missing) / NOISE_RESIDUAL * field
            patch = patch + added[..., None].astype(np.float32)
    patch = np.clip(patch, 0.0, 255.0)
    return Warped(patch=patch, mask=warped.mask, valid=warped.valid), sigma


def feather_alpha(mask: np.ndarray, width: float) -> np.ndarray:
    """(h, w) float32 alpha: > 0.5 on every mask pixel, < 0.5 on every other pixel.

    ``alpha = clip(0.5 + s / (2 * width), 0, 1)`` with ``s`` the signed distance to the mask
    edge in pixels (inside: distance to the nearest outside pixel minus 0.5; outside: minus the
    distance to the nearest inside pixel plus 0.5), so ``|s| >= 0.5`` everywhere.
    """
    import cv2

    inside = mask.astype(np.uint8)
    padded_in = np.pad(inside, 1)  # pixels beyond the patch count as outside
    d_in = cv2.distanceTransform(padded_in, cv2.DIST_L2, 5)[1:-1, 1:-1]
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    signed = np.where(mask, d_in - 0.5, -(d_out - 0.5))
    return np.clip(0.5 + signed / (2.0 * width), 0.0, 1.0).astype(np.float32)


def surface_estimate(patch: np.ndarray, mask: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: the surface a defect sits on. Pixels under ``mask`` (and invalid
    ones) are inpainted from the valid pixels around them (OpenCV Navier-Stokes, which is exact
    on a flat surface); the other pixels are the patch's own.

    Args:
        patch: (h, w, 3) float32 in [0, 255].
        mask: (h, w) bool, the defect.
        valid: (h, w) bool, pixels that came from the source image.
    """
    import cv2

    known = valid & ~mask
    if not known.any():
        return np.broadcast_to(patch[valid | mask].mean(axis=0), patch.shape).astype(np.float32)
    image = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
    filled = cv2.inpaint(image, (~known).astype(np.uint8), 3, cv2.INPAINT_NS)
    surface = filled.astype(np.float32)
    surface[known] = patch[known]
    return surface


def difference_weight(mask: np.ndarray, rim_px: int) -> np.ndarray:
    """(h, w) float32 share of the defect's difference transferred: 1 on ``mask``, then
    ``1 - d / (rim_px + 1)`` at distance ``d`` pixels from it (OpenCV's 5x5 L2 distance
    transform), 0 beyond ``rim_px``."""
    import cv2

    if rim_px <= 0:
        return mask.astype(np.float32)
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    weight = np.where(distance <= rim_px, 1.0 - distance / (rim_px + 1.0), 0.0)
    return weight.astype(np.float32)


def paste(
    canvas: np.ndarray,
    warped: Warped,
    x: int,
    y: int,
    *,
    blend: Blend,
    feather_px: float = 2.0,
    poisson_margin: int = 3,
    rim_px: int = 0,
) -> np.ndarray:
    """Blend a (matched) cut-out onto ``canvas`` with its patch's top-left corner at ``(x, y)``.

    Args:
        canvas: (H, W, 3) uint8 image; not modified.
        warped: the cut-out; its mask must lie inside the canvas at this position (and, for
            ``poisson``, at least one pixel away from the border).
        x, y: patch position (may put context pixels outside the canvas; they are dropped).
        blend: ``hard``, ``feather``, ``poisson`` or ``difference``.
        feather_px: alpha ramp width for ``feather``.
        poisson_margin: context pixels cloned around the mask for ``poisson``.
        rim_px: ``difference``: pixels around the mask transferred with it, fading out
            (:func:`difference_weight`).

    Returns:
        The new (H, W, 3) uint8 image.
    """
    import cv2

    height, width = canvas.shape[:2]
    h, w = warped.mask.shape
    # the part of the patch that lies on the canvas
    cx0, cy0 = max(x, 0), max(y, 0)
    cx1, cy1 = min(x + w, width), min(y + h, height)
    px0, py0 = cx0 - x, cy0 - y
    px1, py1 = px0 + (cx1 - cx0), py0 + (cy1 - cy0)
    mask = warped.mask[py0:py1, px0:px1]
    valid = warped.valid[py0:py1, px0:px1]
    patch = warped.patch[py0:py1, px0:px1]
    out = canvas.copy()
    window = out[cy0:cy1, cx0:cx1]
    if blend == "hard":
        window[mask] = np.rint(patch[mask]).astype(np.uint8)
        return out
    if blend == "feather":
        alpha = feather_alpha(warped.mask, feather_px)[py0:py1, px0:px1]
        alpha = np.where(valid | mask, alpha, 0.0)[..., None]
        mixed = alpha * patch + (1.0 - alpha) * window.astype(np.float32)
        window[...] = np.rint(mixed).astype(np.uint8)
        return out
    if blend == "difference":
        weight = difference_weight(warped.mask, rim_px)
        grown = weight > 0
        surface = surface_estimate(warped.patch, grown, warped.valid)
        delta = (warped.patch - surface) * weight[..., None]
        region = (grown & (warped.valid | warped.mask))[py0:py1, px0:px1]
        moved = window[region].astype(np.float32) + delta[py0:py1, px0:px1][region]
        window[region] = np.rint(np.clip(moved, 0.0, 255.0)).astype(np.uint8)
        return out
    if blend != "poisson":
        raise ValueError(f"unknown blend '{blend}'")
    kernel = np.ones((2 * poisson_margin + 1,) * 2, np.uint8)
    region = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    region &= valid | mask
    full = np.zeros((height, width), bool)
    full[cy0:cy1, cx0:cx1] = region
    full[[0, -1], :] = False  # OpenCV clears the mask's outer pixel ring; do it visibly
    full[:, [0, -1]] = False
    src = canvas.copy()
    src[cy0:cy1, cx0:cx1][region] = np.rint(patch[region]).astype(np.uint8)
    ys, xs = np.nonzero(full)
    bx0, by0 = int(xs.min()), int(ys.min())
    bw, bh = int(xs.max()) + 1 - bx0, int(ys.max()) + 1 - by0
    centre = (bx0 + bw // 2, by0 + bh // 2)  # maps the mask's box onto itself
    cloned = cv2.seamlessClone(
        src[:, :, ::-1].copy(),
        canvas[:, :, ::-1].copy(),
        full.astype(np.uint8) * 255,
        centre,
        cv2.NORMAL_CLONE,
    )[:, :, ::-1]
    out[full] = cloned[full]
    return out
