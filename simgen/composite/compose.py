"""One composite image: draw its parameters, then paste, label and record.

Image ``i`` draws only from ``(seed, i)`` (:func:`simgen.rng.scene_rng` for the pastes,
:func:`simgen.rng.view_rng` for the effects), so a dataset does not depend on resume or order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from simgen.composite.config import CompositeConfig
from simgen.composite.paste import (
    Warped,
    foreground_region,
    match_appearance,
    paste,
    warp_cutout,
)
from simgen.composite.sources import Cutout, background_labels, load_background
from simgen.dataset.layout import image_file_name
from simgen.errors import SimgenError

BLENDS = ("feather", "poisson", "hard", "difference")


def class_weights(
    config: CompositeConfig, cutouts: Sequence[Cutout], categories: Sequence[str]
) -> np.ndarray:
    """(C,) float64 probabilities of pasting each category (``config.balance``).

    Raises:
        SimgenError: a class named in ``balance`` has no instance, or every weight is 0.
    """
    if config.balance == "uniform":
        weights = np.ones(len(categories))
    elif config.balance == "source":
        counts = {name: 0 for name in categories}
        for cutout in cutouts:
            counts[cutout.category] += 1
        weights = np.array([counts[name] for name in categories], float)
    else:
        for name in config.balance:
            if name not in categories:
                raise SimgenError(
                    f"class has no instance in the source (classes: {', '.join(categories)})",
                    file="config",
                    field=f"balance.{name}",
                )
        weights = np.array([config.balance.get(name, 0.0) for name in categories], float)
    if weights.sum() <= 0:
        raise SimgenError("every class weight is 0", file="config", field="balance")
    return weights / weights.sum()


@dataclass(frozen=True)
class PastePlan:
    """Everything drawn for one pasted instance before its position."""

    category: str
    cutout: int
    angle_deg: float
    scale: float
    flip_horizontal: bool
    flip_vertical: bool
    blend: str
    feather_px: float
    offset: float
    gain: float
    noise_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.noise_seed is None else {"noise_seed": self.noise_seed}
        return {
            "category": self.category,
            "cutout": self.cutout,
            "angle_deg": round(self.angle_deg, 4),
            "scale": round(self.scale, 5),
            "flip_horizontal": self.flip_horizontal,
            "flip_vertical": self.flip_vertical,
            "blend": self.blend,
            "feather_px": round(self.feather_px, 4),
            "offset": round(self.offset, 5),
            "gain": round(self.gain, 5),
            **extra,
        }


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def sample_category(
    categories: Sequence[str], weights: np.ndarray, rng: np.random.Generator
) -> str:
    """Draw a class with the probabilities of :func:`class_weights`."""
    return categories[int(rng.choice(len(categories), p=weights))]


def sample_plan(
    config: CompositeConfig,
    category: str,
    members: Sequence[int],
    rng: np.random.Generator,
) -> PastePlan:
    """Draw one instance of ``category``: cut-out (from ``members``, indices into the
    cut-outs), transform, appearance jitter and blend mode."""
    blend_weights = np.array([getattr(config.blend, b) for b in BLENDS], float)
    t, a, b = config.transform, config.appearance, config.blend
    plan = PastePlan(
        category=category,
        cutout=int(members[int(rng.integers(len(members)))]),
        angle_deg=_uniform(rng, t.rotation_deg),
        scale=_uniform(rng, t.scale),
        flip_horizontal=bool(rng.random() < t.flip_horizontal_p),
        flip_vertical=bool(rng.random() < t.flip_vertical_p),
        blend=BLENDS[int(rng.choice(len(BLENDS), p=blend_weights / blend_weights.sum()))],
        feather_px=_uniform(rng, b.feather_px),
        offset=_uniform(rng, a.brightness),
        gain=_uniform(rng, a.contrast),
        noise_seed=int(rng.integers(2**31)) if a.match_noise else None,
    )
    if plan.blend == "difference":
        # The target keeps its own noise: only the defect's deviation is transferred.
        plan = replace(plan, noise_seed=None)
    return plan


@dataclass
class Composite:
    """A finished composite image.

    Attributes:
        image: (H, W, 3) uint8 RGB, or (H, W) uint8 when the background was grayscale.
        masks: per placed instance, (H, W) bool of its final (visible) pixels.
        full_masks: per placed instance, (H, W) bool of everything it covered when pasted.
        categories: per placed instance, its class.
        record: the JSON-ready record (labels and every drawn parameter).
    """

    image: np.ndarray = field(repr=False)
    masks: list[np.ndarray] = field(repr=False)
    full_masks: list[np.ndarray] = field(repr=False)
    categories: list[str]
    record: dict[str, Any]


PLANS_PER_INSTANCE = 3
"""Cut-outs/transforms drawn for one instance (same class) before it is left out; keeps the
class balance when large instances find no room."""


def find_spot(
    warped: Warped,
    shape: tuple[int, int],
    allowed: np.ndarray,
    blocked: np.ndarray | None,
    *,
    border: int,
    tries: int,
    rng: np.random.Generator,
    around: tuple[float, float, float] | None = None,
) -> tuple[int, int] | None:
    """Draw patch positions ``(x, y)`` until the whole mask lies inside the image (``border``
    pixels away from its edge), inside ``allowed`` and off ``blocked``; ``None`` after
    ``tries`` draws or when the mask is larger than the image.

    ``around = (fx, fy, jitter)``: draw the mask box's centre from a normal distribution at
    ``(fx * W, fy * H)`` with spread ``jitter * (W, H)`` (clipped into the image) instead of
    uniformly."""
    height, width = shape
    mx0, my0, mx1, my1 = warped.mask_box
    x_lo, x_hi = border - mx0, width - border - mx1
    y_lo, y_hi = border - my0, height - border - my1
    if x_hi < x_lo or y_hi < y_lo:
        return None
    for _ in range(tries):
        if around is None:
            x, y = int(rng.integers(x_lo, x_hi + 1)), int(rng.integers(y_lo, y_hi + 1))
        else:
            fx, fy, jitter = around
            cx, cy = rng.normal((fx * width, fy * height), (jitter * width, jitter * height))
            x = int(np.clip(round(cx - (mx0 + mx1) / 2.0), x_lo, x_hi))
            y = int(np.clip(round(cy - (my0 + my1) / 2.0), y_lo, y_hi))
        if _fits(warped, x, y, allowed, blocked):
            return x, y
    return None


def _fits(warped: Warped, x: int, y: int, allowed: np.ndarray, blocked: np.ndarray | None) -> bool:
    """Whether the warped mask at ``(x, y)`` lies in ``allowed`` and off ``blocked``."""
    mx0, my0, mx1, my1 = warped.mask_box
    sub = warped.mask[my0:my1, mx0:mx1]
    ax, ay = x + mx0, y + my0
    rows, cols = slice(ay, ay + sub.shape[0]), slice(ax, ax + sub.shape[1])
    if (sub & ~allowed[rows, cols]).any():
        return False
    return blocked is None or not (sub & blocked[rows, cols]).any()


def _annotation(
    category: str, visible: np.ndarray, full: np.ndarray, instance_id: int, min_visible: float
) -> dict[str, Any]:
    from simgen.formats.coco import encode_rle, xywh
    from simgen.labels import mask_bbox

    area, amodal = int(visible.sum()), int(full.sum())
    fraction = area / amodal
    return {
        "category": category,
        "bbox": xywh(mask_bbox(visible)),
        "area": area,
        "segmentation": encode_rle(visible),
        "iscrowd": 0,
        "bbox_amodal": xywh(mask_bbox(full)),
        "area_amodal": amodal,
        "visib_fract": round(fraction, 6),
        "ignore": bool(fraction < min_visible),
        "instance_id": instance_id,
    }


def compose_image(
    config: CompositeConfig,
    index: int,
    cutouts: Sequence[Cutout],
    categories: Sequence[str],
    backgrounds: Sequence[Path],
    *,
    background_root: Path | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Composite:
    """Build image ``index`` of a composite dataset.

    Args:
        config: the composite config (seed, counts, ranges).
        index: image index.
        cutouts: source instances (:func:`simgen.composite.sources.load_cutouts`).
        categories: class names, the order of :func:`class_weights`.
        backgrounds: background image files.
        background_root: folder the recorded background paths are relative to (and, with
            ``background_labels``, whose first-level folders are the backgrounds' classes).
        mapping: class renaming of labeled backgrounds (as of the instance source).

    Returns:
        The image, masks and record. Instances that could not be placed (no room in the region,
        or overlap with earlier ones after ``placement.max_tries`` draws) are recorded with
        ``placed: false`` and have no annotation.
    """
    import cv2

    from simgen.effects import apply_effects, sample_effects
    from simgen.rng import scene_rng, view_rng

    rng = scene_rng(config.seed, index)
    weights = class_weights(config, cutouts, categories)
    by_class: dict[str, list[int]] = {name: [] for name in categories}
    for k, cutout in enumerate(cutouts):
        by_class[cutout.category].append(k)
    bg_index = int(rng.integers(len(backgrounds)))
    background, gray = load_background(backgrounds[bg_index])
    height, width = background.shape[:2]
    place = config.placement
    allowed = (
        foreground_region(background, place.foreground_threshold)
        if place.region == "foreground"
        else np.ones((height, width), bool)
    )
    count = int(rng.integers(config.count[0], config.count[1] + 1))
    canvas = np.array(background)
    occupied = np.zeros((height, width), bool)
    kernel = np.ones((2 * place.gap_px + 1,) * 2, np.uint8)
    pastes: list[dict[str, Any]] = []
    full_masks: list[np.ndarray] = []
    names: list[str] = []
    kept_labels: list[dict[str, Any]] = []
    if config.background_labels:
        root = background_root or backgrounds[bg_index].parent
        for k, (name, mask) in enumerate(background_labels(backgrounds[bg_index], root, mapping)):
            kept_labels.append({"category": name, "component": k})
            full_masks.append(np.array(mask))
            names.append(name)
            occupied |= cv2.dilate(mask.astype(np.uint8), kernel) > 0
    image_class = sample_category(categories, weights, rng) if config.one_class_per_image else None
    for _ in range(count):
        category = image_class or sample_category(categories, weights, rng)
        for attempt in range(1, PLANS_PER_INSTANCE + 1):
            plan = sample_plan(config, category, by_class[category], rng)
            cutout = cutouts[plan.cutout]
            relative = 1.0
            if config.transform.scale_mode == "relative":
                relative = float(np.sqrt(height * width / np.prod(cutout.image_size)))
            entry = {
                **plan.to_dict(),
                "source": cutout.source,
                "annotation_id": cutout.annotation_id,
                "relative_scale": round(relative, 5),
                "attempts": attempt,
            }
            warped = warp_cutout(
                cutout.patch,
                cutout.mask,
                angle_deg=plan.angle_deg,
                scale=plan.scale * relative,
                flip_horizontal=plan.flip_horizontal,
                flip_vertical=plan.flip_vertical,
                context=config.transform.context_px,
            )
            if warped is None:
                entry.update(placed=False, reason="mask vanished when scaled")
                continue
            blocked = occupied if place.overlap == "avoid" else None
            around = None
            if place.position == "source":
                fx, fy = cutout.centre
                fx = 1.0 - fx if plan.flip_horizontal else fx
                fy = 1.0 - fy if plan.flip_vertical else fy
                around = (fx, fy, place.position_jitter)
            spot = find_spot(
                warped,
                (height, width),
                allowed,
                blocked,
                border=1 if plan.blend == "poisson" else 0,
                tries=place.max_tries,
                rng=rng,
                around=around,
            )
            if spot is None:
                entry.update(placed=False, reason="no room")
                continue
            break
        pastes.append(entry)
        if not entry.get("placed", True):
            continue
        mx0, my0, mx1, my1 = warped.mask_box
        x, y = spot
        h, w = warped.mask.shape
        window = background[max(y, 0) : min(y + h, height), max(x, 0) : min(x + w, width)]
        matched, sigma = match_appearance(
            warped,
            window,
            match_brightness=config.appearance.match_brightness,
            match_blur=config.appearance.match_blur,
            offset=plan.offset,
            gain=plan.gain,
            noise_seed=plan.noise_seed,
        )
        canvas = paste(
            canvas,
            matched,
            x,
            y,
            blend=plan.blend,
            feather_px=plan.feather_px,
            poisson_margin=config.blend.poisson_margin_px,
            rim_px=config.blend.difference_rim_px,
        )
        full = np.zeros((height, width), bool)
        full[y + my0 : y + my1, x + mx0 : x + mx1] = warped.mask[my0:my1, mx0:mx1]
        full_masks.append(full)
        names.append(plan.category)
        occupied |= cv2.dilate(full.astype(np.uint8), kernel) > 0
        entry.update(placed=True, x=x, y=y, blur_sigma=sigma)
    # Later pastes cover earlier ones.
    masks: list[np.ndarray] = []
    covered = np.zeros((height, width), bool)
    for full in reversed(full_masks):
        masks.append(full & ~covered)
        covered |= full
    masks.reverse()
    annotations, kept_masks, kept_full, kept_names = [], [], [], []
    instance_id = 0
    owners = kept_labels + [p for p in pastes if p.get("placed")]
    for entry, name, visible, full in zip(owners, names, masks, full_masks, strict=True):
        if not visible.any():
            entry["hidden"] = True
            continue
        instance_id += 1
        entry["instance_id"] = instance_id
        annotations.append(_annotation(name, visible, full, instance_id, config.min_visible))
        kept_masks.append(visible)
        kept_full.append(full)
        kept_names.append(name)
    drawn = sample_effects(config.effects, view_rng(config.seed, index, 0))
    if drawn:
        canvas = apply_effects(canvas, drawn)
    image = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY) if gray else canvas
    bg_path = backgrounds[bg_index]
    if background_root is not None:
        bg_path = bg_path.relative_to(background_root)
    record = {
        "image": {
            "index": index,
            "file_name": image_file_name(index),
            "width": width,
            "height": height,
        },
        "annotations": annotations,
        "composite": {
            "background": str(bg_path),
            "grayscale": gray,
            "region": place.region,
            "pastes": pastes,
            **({"background_labels": kept_labels} if config.background_labels else {}),
            "effects": drawn,
        },
    }
    return Composite(
        image=image, masks=kept_masks, full_masks=kept_full, categories=kept_names, record=record
    )
