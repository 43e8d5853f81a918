"""Multi-scale testing: merging detections of several passes, scaled input sizes, parsing."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.errors import SimgenError
from simgen.gap.boxes import box_overlaps
from simgen.gap.multiscale import (
    is_extra_pass,
    keep_tall,
    merge_detections,
    mirror_detections,
    mirrored_name,
    parse_scales,
    pass_base,
    scaled_name,
    scaled_size,
)


def _dets(boxes, scores, labels):
    return (
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.asarray(scores, np.float32),
        np.asarray(labels, np.int64),
    )


def test_same_object_from_two_passes_keeps_the_higher_score():
    full = _dets([[0, 0, 10, 10], [50, 50, 60, 70]], [0.4, 0.9], [0, 0])
    half = _dets([[1, 0, 10, 10]], [0.7], [0])  # IoU 0.9 with the first box of ``full``
    boxes, scores, labels = merge_detections([full, half])
    np.testing.assert_array_equal(scores, np.float32([0.9, 0.7]))
    np.testing.assert_array_equal(boxes, np.float32([[50, 50, 60, 70], [1, 0, 10, 10]]))
    np.testing.assert_array_equal(labels, [0, 0])


def test_other_classes_and_small_overlaps_are_not_merged():
    a = _dets([[0, 0, 10, 10]], [0.9], [0])
    b = _dets([[0, 0, 10, 10], [5, 0, 15, 10]], [0.8, 0.7], [1, 0])  # IoU 1/3 with ``a``
    _, scores, labels = merge_detections([a, b])
    np.testing.assert_array_equal(scores, np.float32([0.9, 0.8, 0.7]))
    np.testing.assert_array_equal(labels, [0, 1, 0])


@pytest.mark.parametrize(("shift", "kept"), [(0.0, 1), (10 / 3, 1), (5.0, 2)])
def test_overlap_exactly_at_the_threshold_is_kept(shift, kept):
    # [0, 10] against [shift, 10 + shift]: IoU 1, 0.5, 1/3.
    a = _dets([[0, 0, 10, 10]], [0.9], [0])
    b = _dets([[shift, 0, 10 + shift, 10]], [0.5], [0])
    overlap = box_overlaps(a[0], b[0], dtype=np.float32)[0, 0]
    assert (overlap > 0.5) == (kept == 1)
    assert len(merge_detections([a, b])[0]) == kept


def test_ties_keep_the_first_pass_and_top_k_caps_by_score():
    a = _dets([[0, 0, 10, 10]], [0.5], [0])
    b = _dets([[0, 0, 10, 11]], [0.5], [0])
    boxes, _, _ = merge_detections([a, b])
    np.testing.assert_array_equal(boxes, np.float32([[0, 0, 10, 10]]))
    rng = np.random.default_rng(0)
    many = _dets(
        np.stack(
            [np.arange(30) * 20.0, np.zeros(30), np.arange(30) * 20 + 10, np.ones(30) * 10], 1
        ),
        rng.random(30),
        np.zeros(30),
    )
    boxes, scores, _ = merge_detections([many], top_k=5)
    np.testing.assert_array_equal(scores, np.sort(many[1])[::-1][:5])
    assert boxes.shape == (5, 4)


def test_empty_passes_merge_to_empty():
    empty = _dets(np.zeros((0, 4)), [], [])
    boxes, scores, labels = merge_detections([empty, empty])
    assert boxes.shape == (0, 4) and scores.dtype == np.float32 and labels.dtype == np.int64


@pytest.mark.parametrize(
    ("size", "scale", "expected"),
    [((320, 1024), 0.5, (160, 512)), ((320, 1024), 0.7, (224, 704)),
     ((320, 320), 0.05, (32, 32)), ((384, 1248), 1.25, (480, 1568))],
)  # fmt: skip
def test_scaled_sizes_are_multiples_of_32(size, scale, expected):
    assert scaled_size(size, scale) == expected


def test_parse_scales_and_names():
    assert parse_scales("1,0.5") == (1.0, 0.5)
    assert parse_scales("0.7, 1") == (0.7, 1.0)
    assert scaled_name("test", 0.5) == "test@0.5"


@pytest.mark.parametrize(
    ("text", "message"),
    [("1,x", "expected comma-separated numbers"), ("1,0", r"must be in \(0, 1\], got 0"),
     ("1,1.5", r"must be in \(0, 1\], got 1.5"), ("1,1", "each scale once"),
     ("0.5", "must include 1")],
)  # fmt: skip
def test_bad_scales_name_the_option(text, message):
    with pytest.raises(SimgenError, match=f"--test-scales: .*{message}"):
        parse_scales(text)


@pytest.mark.parametrize(("input_scale", "kept"), [(0.5, [0.9]), (1.0, [0.9, 0.6]), (0.2, [])])
def test_a_shrunken_pass_keeps_detections_tall_in_its_own_input(input_scale, kept):
    # Heights 80 and 30 original pixels; 20 input pixels is the smallest kept.
    found = _dets([[0, 0, 50, 80], [0, 0, 90, 30]], [0.9, 0.6], [0, 1])
    boxes, scores, labels = keep_tall(found, input_scale, 20.0)
    np.testing.assert_array_equal(scores, np.float32(kept))
    assert boxes.shape == (len(kept), 4) and len(labels) == len(kept)


def test_mirrored_boxes_map_back_and_twice_is_the_identity():
    found = _dets([[10, 5, 40, 25], [0, 0, 100, 50]], [0.9, 0.4], [1, 0])
    boxes, scores, labels = mirror_detections(found, 100.0)
    np.testing.assert_array_equal(boxes, np.float32([[60, 5, 90, 25], [0, 0, 100, 50]]))
    np.testing.assert_array_equal(scores, found[1])
    np.testing.assert_array_equal(labels, found[2])
    again = mirror_detections((boxes, scores, labels), 100.0)
    np.testing.assert_array_equal(again[0], found[0])
    assert mirror_detections(_dets([], [], []), 64.0)[0].shape == (0, 4)


@pytest.mark.parametrize(
    ("name", "base", "extra"),
    [("test", "test", False), ("val@0.5", "val", True), (mirrored_name("test"), "test", True),
     (mirrored_name(scaled_name("val", 0.5)), "val", True), ("synthetic", "synthetic", False)],
)  # fmt: skip
def test_pass_names_lead_back_to_their_scored_set(name, base, extra):
    assert pass_base(name) == base
    assert is_extra_pass(name) is extra
