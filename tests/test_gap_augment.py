"""Gap augmentation: boxes follow the pixels exactly, draws replay, flips stay off by default."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pydantic import ValidationError

from simgen.errors import SimgenError
from simgen.gap.augment import (
    DEFAULT_AUGMENT,
    AugmentConfig,
    AugmentParams,
    apply_augment,
    augment_image,
    load_augment_config,
    sample_augment,
)

SIZE = 128
GREY = 114
OFF = {
    "p_affine": 0.0,
    "p_hsv": 0.0,
    "p_gain": 0.0,
    "p_blur": 0.0,
    "p_noise": 0.0,
    "p_jpeg": 0.0,
    "p_cutout": 0.0,
}
"""Every op off: the base that single-op configs switch one op on in."""

RECTS = np.array(
    [[10, 12, 40, 50], [60, 8, 110, 30], [20, 70, 55, 118], [75, 60, 120, 100]], np.float32
)
COLORS = np.array([[255, 255, 255], [255, 0, 0], [0, 200, 0], [40, 40, 255]], np.int32)


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def rectangles_image() -> np.ndarray:
    """(SIZE, SIZE, 3) uint8 grey 114 with each of RECTS filled with its colour."""
    image = np.full((SIZE, SIZE, 3), GREY, np.uint8)
    for (x0, y0, x1, y1), color in zip(RECTS.astype(int), COLORS, strict=True):
        image[y0:y1, x0:x1] = color
    return image


def textured_image(seed: int = 0) -> np.ndarray:
    """(SIZE, SIZE, 3) uint8 smooth random colours (every op visibly changes it)."""
    coarse = rng(seed).integers(30, 226, size=(8, 8, 3)).astype(np.uint8)
    return np.repeat(np.repeat(coarse, SIZE // 8, axis=0), SIZE // 8, axis=1)


def colour_box(image: np.ndarray, color: np.ndarray) -> np.ndarray | None:
    """Bounding box (pixel edges) of pixels more than half-way from grey to ``color`` (L1)."""
    full = np.abs(color - GREY).sum()
    distance = np.abs(image.astype(np.int32) - color).sum(axis=2)
    ys, xs = np.nonzero(distance < 0.5 * full)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_boxes_follow_the_pixels(seed, flip):
    config = AugmentConfig(**(OFF | {"p_affine": 1.0, "flip": flip, "p_flip": 1.0}))
    params = sample_augment(rng(seed), config, SIZE)
    assert params.zoom != 1.0 and params.flip == flip
    image, boxes, keep = apply_augment(rectangles_image(), RECTS, params)
    assert keep.shape == (len(RECTS),) and boxes.shape == (int(keep.sum()), 4)
    for box, color in zip(boxes, COLORS[keep], strict=True):
        seen = colour_box(image, color)
        assert seen is not None
        np.testing.assert_allclose(box, seen, atol=1.5)
    for color in COLORS[~keep]:
        seen = colour_box(image, color)
        assert seen is None or min(seen[2] - seen[0], seen[3] - seen[1]) < 3.5


def test_flip_mirrors_boxes_and_pixels():
    params = AugmentParams(size=SIZE, flip=True)
    image, boxes, keep = apply_augment(rectangles_image(), RECTS, params)
    assert keep.all()
    np.testing.assert_array_equal(image, rectangles_image()[:, ::-1])
    np.testing.assert_array_equal(boxes[:, [0, 2]], SIZE - RECTS[:, [2, 0]])
    np.testing.assert_array_equal(boxes[:, [1, 3]], RECTS[:, [1, 3]])


@pytest.mark.parametrize("seed", range(4))
def test_same_seed_same_bytes_different_seed_different_image(seed):
    image = textured_image()
    first = augment_image(image, RECTS, rng(seed), DEFAULT_AUGMENT)
    again = augment_image(image, RECTS, rng(seed), DEFAULT_AUGMENT)
    other = augment_image(image, RECTS, rng(seed + 100), DEFAULT_AUGMENT)
    for a, b in zip(first, again, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert first[0].tobytes() != other[0].tobytes()
    np.testing.assert_array_equal(image, textured_image())  # input untouched


def test_params_record_replays_the_same_bytes():
    image = textured_image(1)
    params = sample_augment(rng(7), AugmentConfig(p_cutout=1.0, p_jpeg=1.0, p_noise=1.0), SIZE)
    replayed = AugmentParams.from_dict(params.to_dict())
    assert replayed == params
    assert (
        apply_augment(image, RECTS, params)[0].tobytes()
        == apply_augment(image, RECTS, replayed)[0].tobytes()
    )


def test_every_image_consumes_the_same_draws():
    a, b = rng(3), rng(3)
    for _ in range(20):
        sample_augment(a, DEFAULT_AUGMENT, SIZE)
        sample_augment(b, AugmentConfig(**OFF), SIZE)
    assert a.random() == b.random()


def test_flip_off_by_default_and_sometimes_on_when_allowed():
    generator = rng(0)
    assert not any(sample_augment(generator, DEFAULT_AUGMENT, SIZE).flip for _ in range(500))
    flips = [sample_augment(generator, AugmentConfig(flip=True), SIZE).flip for _ in range(500)]
    assert 150 < sum(flips) < 350


def test_disabled_is_the_identity():
    image = textured_image()
    generator = rng(0)
    state = generator.bit_generator.state
    out, boxes, keep = augment_image(image, RECTS, generator, AugmentConfig(enabled=False))
    assert generator.bit_generator.state == state
    assert sample_augment(generator, AugmentConfig(enabled=False), SIZE).is_identity
    assert out.tobytes() == image.tobytes() and out is not image
    assert keep.all() and boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes, RECTS)


def test_boxes_pushed_outside_are_dropped():
    boxes = np.array([[60, 10, 100, 40], [100, 50, 127, 90], [5, 5, 30, 30]], np.float32)
    params = AugmentParams(size=SIZE, shift=(100.0, 0.0))
    _, out, keep = apply_augment(textured_image(), boxes, params)
    assert keep.tolist() == [False, False, True]
    np.testing.assert_array_equal(out, [[105, 5, 128, 30]])
    _, out, keep = apply_augment(textured_image(), np.zeros((0, 4), np.float32), params)
    assert out.shape == (0, 4) and keep.shape == (0,)


SINGLE_OPS = {
    "affine": {"p_affine": 1.0},
    "flip": {"flip": True, "p_flip": 1.0},
    "hsv": {"p_hsv": 1.0, "hue_deg": (10.0, 20.0)},
    "gain": {"p_gain": 1.0, "gain": (1.1, 1.2)},
    "blur": {"p_blur": 1.0, "blur_sigma": (1.0, 1.5)},
    "noise": {"p_noise": 1.0, "noise_std": (4.0, 8.0)},
    "jpeg": {"p_jpeg": 1.0, "jpeg_quality": (40, 60)},
    "cutout": {"p_cutout": 1.0, "cutout_count": (2, 3)},
}


@pytest.mark.parametrize("op", sorted(SINGLE_OPS))
def test_each_op_alone_keeps_shape_and_dtype(op):
    image = textured_image(2)
    config = AugmentConfig(**(OFF | SINGLE_OPS[op]))
    out, boxes, keep = augment_image(image, RECTS, rng(5), config)
    assert out.shape == (SIZE, SIZE, 3) and out.dtype == np.uint8
    assert boxes.dtype == np.float32 and keep.dtype == np.bool_
    assert out.tobytes() != image.tobytes()
    if op not in ("affine", "flip"):
        np.testing.assert_array_equal(boxes, RECTS)


def test_config_rejects_unknown_keys_and_reversed_ranges():
    with pytest.raises(ValidationError, match="extra"):
        AugmentConfig(rotation=(0, 10))
    with pytest.raises(ValidationError, match="min > max"):
        AugmentConfig(zoom=(1.5, 0.5))
    with pytest.raises(ValidationError):
        AugmentConfig(p_blur=1.5)


def test_load_augment_config(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("p_jpeg: 0.9\njpeg_quality: [50, 80]\n")
    assert load_augment_config(good).jpeg_quality == (50, 80)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_augment_config(empty) == DEFAULT_AUGMENT

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("p_jpeg: 0.9\nrotate_deg: [0, 10]\n")
    with pytest.raises(SimgenError) as info:
        load_augment_config(unknown)
    assert info.value.field == "rotate_deg"
    assert str(info.value) == f"{unknown}: rotate_deg: unknown key"

    reversed_range = tmp_path / "reversed.yaml"
    reversed_range.write_text("noise_std: [8, 2]\n")
    with pytest.raises(SimgenError) as info:
        load_augment_config(reversed_range)
    assert info.value.field == "noise_std" and "min > max" in str(info.value)
    assert "\n" not in str(info.value)


WIDE = (96, 200)
"""A wide ``(height, width)`` input, like a driving photo letterboxed into 1024x320."""


def wide_rectangles() -> tuple[np.ndarray, np.ndarray]:
    """(96, 200, 3) uint8 grey with RECTS (shifted right by 70 px) filled, and those boxes."""
    boxes = RECTS * np.float32(0.75) + np.array([70, 0, 70, 0], np.float32)
    image = np.full((*WIDE, 3), GREY, np.uint8)
    for (x0, y0, x1, y1), color in zip(np.rint(boxes).astype(int), COLORS, strict=True):
        image[y0:y1, x0:x1] = color
    return image, np.rint(boxes)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_boxes_follow_the_pixels_on_a_wide_image(seed, flip):
    config = AugmentConfig(**(OFF | {"p_affine": 1.0, "flip": flip, "p_flip": 1.0}))
    params = sample_augment(rng(seed), config, WIDE)
    assert params.shape == WIDE and params.zoom != 1.0 and params.flip == flip
    source, rects = wide_rectangles()
    image, boxes, keep = apply_augment(source, rects, params)
    assert image.shape == (*WIDE, 3)
    for box, color in zip(boxes, COLORS[keep], strict=True):
        seen = colour_box(image, color)
        assert seen is not None
        np.testing.assert_allclose(box, seen, atol=1.5)
    assert (boxes[:, [0, 2]] <= WIDE[1]).all() and (boxes[:, [1, 3]] <= WIDE[0]).all()


@pytest.mark.parametrize("seed", range(4))
def test_wide_shifts_and_cutouts_scale_with_each_side(seed):
    config = AugmentConfig(p_cutout=1.0, cutout_count=(3, 3), p_affine=1.0)
    params = sample_augment(rng(seed), config, WIDE)
    height, width = WIDE
    assert (
        abs(params.shift[0]) <= config.shift * width
        and abs(params.shift[1]) <= config.shift * height
    )
    for x0, y0, x1, y1, *_ in params.cutout:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    replayed = AugmentParams.from_dict(params.to_dict())
    assert replayed == params and replayed.shape == WIDE


@pytest.mark.parametrize("seed", range(3))
def test_a_square_pair_draws_and_applies_exactly_as_its_side(seed):
    image = textured_image(seed)
    as_int = sample_augment(rng(seed), DEFAULT_AUGMENT, SIZE)
    as_pair = sample_augment(rng(seed), DEFAULT_AUGMENT, (SIZE, SIZE))
    assert dataclasses.replace(as_pair, size=SIZE) == as_int
    for a, b in zip(
        apply_augment(image, RECTS, as_int), apply_augment(image, RECTS, as_pair), strict=True
    ):
        assert a.tobytes() == b.tobytes()
