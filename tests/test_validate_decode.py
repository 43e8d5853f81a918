"""``simgen validate`` decodes every image it checks: a file cut short or with a broken
compressed stream is an error naming it, even when its header is intact."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simgen.cli import main
from simgen.inspect.validate import ImageDecodeError, decoded_size
from simgen.io import encode_png

WIDTH, HEIGHT = 64, 48


def _pixels(seed: int) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 noise (incompressible, so a cut lands inside the pixels)."""
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _scrambled(data: bytes) -> bytes:
    """The PNG with bytes inside its compressed pixel stream flipped (header intact)."""
    broken = bytearray(data)
    start = data.index(b"IDAT") + 16
    for i in range(start, start + 64):
        broken[i] ^= 0x5A
    return bytes(broken)


FILES: dict[str, tuple[str, Callable[[np.ndarray], bytes], str | None]] = {
    "png": ("png", encode_png, None),
    "jpeg": ("jpg", _jpeg, None),
    "truncated_png": ("png", lambda im: _cut(encode_png(im)), "truncated"),
    "truncated_jpeg": ("jpg", lambda im: _cut(_jpeg(im)), "truncated"),
    "corrupt_png": ("png", lambda im: _scrambled(encode_png(im)), "broken data stream"),
    "not_an_image": ("png", lambda im: b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "cannot identify"),
}
"""Name -> (suffix, bytes of an image, what the decoder says; ``None``: it decodes)."""


def _dataset(root: Path, names: list[str]) -> Path:
    """A COCO dataset folder with one image file per name (and no annotations)."""
    (root / "images").mkdir(parents=True)
    images = []
    for image_id, name in enumerate(names, start=1):
        suffix, make, _ = FILES[name]
        file_name = f"{name}.{suffix}"
        (root / "images" / file_name).write_bytes(make(_pixels(image_id)))
        images.append({"id": image_id, "file_name": file_name, "width": WIDTH, "height": HEIGHT})
    coco = {"images": images, "annotations": [], "categories": [{"id": 1, "name": "thing"}]}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


def _validate(path: Path) -> int:
    try:
        return main(["validate", str(path)])
    except SystemExit as exc:  # status 1 arrives as SystemExit (see simgen/inspect/cli.py)
        return int(exc.code)


@pytest.mark.parametrize("name", sorted(FILES))
def test_decoded_size(tmp_path, name):
    suffix, make, reason = FILES[name]
    path = tmp_path / f"image.{suffix}"
    path.write_bytes(make(_pixels(0)))
    if reason is None:
        assert decoded_size(path) == (WIDTH, HEIGHT)
    else:
        with pytest.raises(ImageDecodeError, match=reason):
            decoded_size(path)


@pytest.mark.parametrize("name", sorted(n for n, (_, _, reason) in FILES.items() if reason))
def test_validate_names_a_broken_image(tmp_path, capsys, name):
    root = _dataset(tmp_path / "data", ["png", name, "jpeg"])
    assert _validate(root) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    _, _, reason = FILES[name]
    assert len(errors) == 1, lines
    assert errors[0].startswith("error: image 2: cannot read ")
    assert str(root / "images" / f"{name}.{FILES[name][0]}") in errors[0] and reason in errors[0]
    assert "1 errors" in lines[-1] and "2 image files" in lines[-1]


def test_validate_passes_intact_images(tmp_path, capsys):
    root = _dataset(tmp_path / "data", ["png", "jpeg"])
    assert _validate(root) == 0
    assert "0 errors" in capsys.readouterr().out
