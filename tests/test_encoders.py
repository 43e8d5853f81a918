"""simgen's own PNG encoder: what OpenCV and Pillow decode is exactly the array encoded."""

from __future__ import annotations

import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from simgen.io import encode_png


def _image(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Smooth regions, hard edges and noise (what renders and masks look like)."""
    top = np.iinfo(dtype).max
    image = rng.integers(0, top, size=shape, endpoint=True, dtype=dtype)
    image[: shape[0] // 2] = image[0]  # identical rows
    image[:, : shape[1] // 3] = top // 3  # a flat block
    return image


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("compression", [0, 1, 3, 4, 9])
@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((480, 640, 3), np.uint8),
        ((7, 5, 4), np.uint8),
        ((1, 1, 3), np.uint8),
        ((33, 17), np.uint8),
        ((1, 9), np.uint8),
        ((21, 13), np.uint16),
    ],
)
def test_png_round_trip(seed, compression, shape, dtype):
    image = _image(np.random.default_rng(seed), shape, dtype)
    data = encode_png(image, compression)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        order = [2, 1, 0] if shape[2] == 3 else [2, 1, 0, 3]
        decoded = decoded[:, :, order]  # OpenCV decodes to BGR(A)
    assert decoded.dtype == image.dtype
    np.testing.assert_array_equal(decoded, image)
    pillow = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(pillow.astype(image.dtype), image)
    assert data == encode_png(image.copy(), compression)  # deterministic


def test_png_strided_input_and_levels():
    image = _image(np.random.default_rng(2), (60, 80, 3), np.uint8)
    flipped = image[::-1, :, ::-1]  # a view with negative strides
    decoded = cv2.imdecode(np.frombuffer(encode_png(flipped), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded, image[::-1])
    stored = encode_png(image, 0)
    assert len(stored) > image.nbytes  # level 0 stores the filtered rows
    assert len(encode_png(image, 9)) < len(stored)
    # one IDAT chunk whose zlib stream inflates to height rows of 1 + 3·width bytes, each
    # unfiltered (8-bit rows) or Up-filtered (16-bit rows)
    assert _filter_bytes(stored, 60, 1 + 80 * 3) == b"\x00" * 60
    depth = _image(np.random.default_rng(3), (20, 30), np.uint16)
    assert _filter_bytes(encode_png(depth, 0), 20, 1 + 30 * 2) == b"\x02" * 20


def _filter_bytes(png: bytes, height: int, row_bytes: int) -> bytes:
    """The filter-type byte of every row of a PNG with one IDAT chunk."""
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8 : start - 4], "big")
    raw = zlib.decompress(png[start : start + length])
    assert len(raw) == height * row_bytes
    return raw[::row_bytes]


@pytest.mark.parametrize(
    ("image", "compression", "message"),
    [
        (np.zeros((4, 4, 2), np.uint8), 3, "shape"),
        (np.zeros((4, 4), np.float32), 3, "float32"),
        (np.zeros((4, 4, 3), np.uint16), 3, "16-bit"),
        (np.zeros((0, 4), np.uint8), 3, "empty"),
        (np.zeros((4, 4), np.uint8), 10, "compression"),
    ],
)
def test_png_rejects_what_it_cannot_encode(image, compression, message):
    with pytest.raises(ValueError, match=message):
        encode_png(image, compression)


def _masks(seed: int) -> list[np.ndarray]:
    """Random blobs, specks, stripes and the cases where runs meet the image's edges."""
    rng = np.random.default_rng(seed)
    height, width = 48, 64
    masks = [np.zeros((height, width), bool), np.ones((height, width), bool)]
    for _ in range(40):
        mask = np.zeros((height, width), bool)
        h, w = rng.integers(1, [height, width], endpoint=True)
        y, x = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
        mask[y : y + h, x : x + w] = rng.random((h, w)) < rng.random()
        masks.append(mask)
    speck = np.zeros((height, width), bool)
    speck[0, 0] = speck[-1, -1] = True  # first and last pixel
    stripe = np.zeros((height, width), bool)
    stripe[[0, -1], 5:9] = True  # runs that wrap from a column's last row to the next's first
    column = np.zeros((height, width), bool)
    column[:, 7:9] = True  # two full columns: one run
    masks += [speck, stripe, column, rng.random((height, width)) < 0.5]
    return masks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rle_matches_pycocotools(seed):
    from pycocotools import mask as mask_utils

    from simgen.formats.coco import encode_rle, rle_counts
    from simgen.labels import mask_bbox

    for mask in _masks(seed):
        expected = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle = encode_rle(mask)
        assert rle == {"size": list(mask.shape), "counts": expected["counts"].decode()}
        counts = rle_counts(mask)
        assert sum(counts) == mask.size and all(c > 0 for c in counts[1:])
        height, width = mask.shape
        assert rle_counts(mask, (0, 0, width, height)) == counts  # a window holding every pixel
        if mask.any():
            x0, y0, x1, y1 = mask_bbox(mask)
            loose = (max(x0 - 2, 0), max(y0 - 1, 0), min(x1 + 3, width), min(y1 + 1, height))
            assert encode_rle(mask, loose) == rle
        np.testing.assert_array_equal(mask_utils.decode(expected).astype(bool), mask)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_json_objects_with_members_encoded_ahead_are_the_same_bytes(seed):
    from simgen.io import dump_json, dump_json_object

    rng = np.random.default_rng(seed)

    def value(depth: int):
        kind = int(rng.integers(0, 7 if depth < 3 else 4))
        if kind == 0:
            return float(rng.normal() * 10.0 ** int(rng.integers(-8, 8)))
        if kind == 1:
            return int(rng.integers(-(10**9), 10**9))
        if kind == 2:
            return ['ä"\\ \n', "x", "", "\u2603"][int(rng.integers(0, 4))]
        if kind == 3:
            return [None, True, False][int(rng.integers(0, 3))]
        if kind in (4, 5):
            return [value(depth + 1) for _ in range(int(rng.integers(0, 4)))]
        return {f"k{i}\u00e9": value(depth + 1) for i in range(int(rng.integers(0, 4)))}

    members = [(name, value(0)) for name in ["image", "annotations", "scene", "view_index", "é"]]
    encoded = {"scene": dump_json(members[2][1])[:-1]}
    want = dump_json(dict(members))
    assert dump_json_object([(k, None if k in encoded else v) for k, v in members], encoded) == want
    assert dump_json_object(members, {}) == want
