"""A contact sheet: a grid of images with their labels drawn, each with a caption bar.

Layout: ``columns = ceil(sqrt(n))`` tiles per row, ``ceil(n / columns)`` rows. Every tile is
``tile_width`` pixels wide and ``tile_height = round(tile_width * H0 / W0)`` tall, where
``W0 x H0`` is the first picked image's size (other sizes are letterboxed), followed by a
:data:`CAPTION_HEIGHT` pixel caption: file name, instance count and ignored count. The sheet
is therefore ``columns * tile_width`` by ``rows * (tile_height + CAPTION_HEIGHT)`` pixels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError
from simgen.inspect.dataset import Dataset
from simgen.inspect.draw import overlay, read_rgb

CAPTION_HEIGHT = 20
BACKGROUND = (24, 24, 24)
CAPTION_COLOUR = (235, 235, 235)


def pick_images(images: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` images spread evenly over the list (all of them when ``n >= len(images)``)."""
    if n <= 0 or not images:
        return []
    if n >= len(images):
        return list(images)
    indices = np.unique(np.round(np.linspace(0, len(images) - 1, n)).astype(int))
    return [images[i] for i in indices]


def sheet_shape(count: int, tile_width: int, tile_height: int) -> tuple[int, int, int, int]:
    """``(columns, rows, sheet_height, sheet_width)`` of a sheet of ``count`` tiles."""
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    return columns, rows, rows * (tile_height + CAPTION_HEIGHT), columns * tile_width


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize (keeping the aspect) and letterbox an (H, W, 3) image into (height, width, 3)."""
    import cv2

    h, w = image.shape[:2]
    factor = min(width / w, height / h)
    new_w, new_h = max(1, round(w * factor)), max(1, round(h * factor))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    tile = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    y0, x0 = (height - new_h) // 2, (width - new_w) // 2
    tile[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return tile


def _caption(text: str, width: int) -> np.ndarray:
    """A (CAPTION_HEIGHT, width, 3) uint8 bar with ``text``."""
    import cv2

    bar = np.full((CAPTION_HEIGHT, width, 3), BACKGROUND, dtype=np.uint8)
    cv2.putText(bar, text, (4, CAPTION_HEIGHT - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, CAPTION_COLOUR)
    return bar


def contact_sheet(dataset: Dataset, n: int = 16, tile_width: int = 320) -> np.ndarray:
    """Draw ``n`` labeled images of a dataset on one sheet.

    Args:
        dataset: a loaded dataset (its images must be on disk).
        n: number of images, picked by :func:`pick_images`.
        tile_width: width of each tile in pixels.

    Returns:
        (rows * (tile_height + CAPTION_HEIGHT), columns * tile_width, 3) uint8 RGB.

    Raises:
        SimgenError: no images, ``n < 1``, or an image file is missing.
    """
    if n < 1 or tile_width < 16:
        raise SimgenError("--n must be >= 1 and the tile width >= 16", field="n")
    picked = pick_images(dataset.coco["images"], n)
    if not picked:
        raise SimgenError("the dataset has no images", file=dataset.coco_path, field="images")
    first = picked[0]
    tile_height = max(1, round(tile_width * float(first["height"]) / float(first["width"])))
    columns, _, height, width = sheet_shape(len(picked), tile_width, tile_height)
    sheet = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    names = dataset.category_names()
    for k, image in enumerate(picked):
        rgb = read_rgb(dataset.image_path(image))
        anns = dataset.annotations_of(image["id"])
        scale = max(1.0, rgb.shape[1] / tile_width)
        drawn = _fit(overlay(rgb, anns, names, scale=scale), tile_width, tile_height)
        ignored = sum(bool(a.get("ignore")) for a in anns)
        text = f"{Path(str(image['file_name'])).name}  {len(anns)} inst"
        text += f", {ignored} ignore" if ignored else ""
        row, col = divmod(k, columns)
        y, x = row * (tile_height + CAPTION_HEIGHT), col * tile_width
        sheet[y : y + tile_height, x : x + tile_width] = drawn
        sheet[y + tile_height : y + tile_height + CAPTION_HEIGHT, x : x + tile_width] = _caption(
            text, tile_width
        )
    return sheet
