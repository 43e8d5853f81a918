"""Detection datasets for the gap check: loading, letterboxing, augmentation and targets.

Boxes inside this module are float ``(x0, y0, x1, y1)`` in pixels. A dataset is a simgen
dataset folder, a COCO JSON file (images beside it or in ``images/``), or a folder of images
with binary mask PNGs (:func:`simgen.formats.mask_folder.mask_folder_to_coco`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from simgen.errors import SimgenError

BoxKind = Literal["modal", "amodal"]
"""``modal``: the visible box (COCO ``bbox``); ``amodal``: the full object (``bbox_amodal``)."""

STRIDE = 4
"""Output stride of the detector's heat maps."""

InputSize = tuple[int, int]
"""The detector's input ``(height, width)`` in pixels (square by default; wide for driving)."""


def input_size(value: int | str | tuple[int, int]) -> InputSize:
    """Normalize an input size to ``(height, width)``.

    Args:
        value: ``S`` (an int or its text) for a square input, ``"WxH"`` text (width first, as
            image sizes are written, e.g. ``1024x320``), or a ``(height, width)`` pair.

    Raises:
        SimgenError: unparsable text or a side below 1, naming ``--size``.
    """
    if isinstance(value, tuple):
        height, width = value
    elif isinstance(value, int):
        height = width = value
    else:
        parts = str(value).lower().split("x")
        try:
            numbers = [int(part) for part in parts]
        except ValueError:
            numbers = []
        if len(numbers) not in (1, 2):
            raise SimgenError(f"expected S or WxH in pixels, got '{value}'", file="--size")
        width, height = (numbers[0], numbers[0]) if len(numbers) == 1 else numbers
    if height < 1 or width < 1:
        raise SimgenError(f"expected positive sides, got {width}x{height}", file="--size")
    return int(height), int(width)


def size_text(size: InputSize) -> str:
    """``"S"`` for a square input, else ``"WxH"`` (the inverse of :func:`input_size`)."""
    height, width = size
    return str(width) if height == width else f"{width}x{height}"


@dataclass
class Sample:
    """One image and its ground truth.

    Attributes:
        path: image file.
        image_id: the image's id in its COCO file.
        width, height: original size in pixels.
        boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` in original pixels.
        labels: (N,) int64 class indices into :attr:`DetectionSet.categories`.
        ignore: (N,) bool instances that neither reward nor penalize (BOP's rule), and crowd
            regions (``iscrowd`` 1, e.g. KITTI's DontCare): no training loss inside them.
    """

    path: Path
    image_id: int
    width: int
    height: int
    boxes: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    ignore: np.ndarray = field(repr=False)


@dataclass
class DetectionSet:
    """Samples plus the category names their labels index, and where they came from."""

    name: str
    samples: list[Sample]
    categories: list[str]
    coco: dict[str, Any] = field(repr=False)
    source: Path


def _coco_and_root(path: Path) -> tuple[dict[str, Any], Path, Path]:
    from simgen.dataset.layout import ANNOTATIONS_FILE
    from simgen.dataset.locate import read_dataset
    from simgen.formats.mask_folder import mask_folder_to_coco

    if path.is_dir() and not (path / ANNOTATIONS_FILE).is_file():
        coco, _ = mask_folder_to_coco(path)
        return coco, path, path
    coco, files = read_dataset(path)
    return coco, files.images_dir, files.annotations


def coco_categories(coco: dict[str, Any]) -> list[str]:
    """Category names of a COCO dict, in id order."""
    return [c["name"] for c in sorted(coco["categories"], key=lambda c: c["id"])]


def load_detection_set(
    path: str | Path,
    *,
    categories: list[str] | None = None,
    boxes: BoxKind = "modal",
    image_ids: list[int] | None = None,
    check_files: bool = True,
) -> DetectionSet:
    """Read a dataset's boxes.

    Args:
        path: simgen dataset folder, COCO JSON file, or mask folder.
        categories: class names the labels index (default: the file's own, in id order);
            instances of other categories are dropped.
        boxes: which box to use (``amodal`` needs ``bbox_amodal`` in every annotation).
        image_ids: keep only these images (in this order).
        check_files: raise when an image file is missing.

    Raises:
        SimgenError: unreadable input, no images, missing image files, missing amodal boxes.
    """
    path = Path(path)
    coco, images_dir, source = _coco_and_root(path)
    names = coco_categories(coco)
    classes = categories if categories is not None else names
    name_of = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    images = coco["images"]
    if image_ids is not None:
        index = {img["id"]: img for img in images}
        images = [index[i] for i in image_ids if i in index]
    if not images:
        raise SimgenError("dataset has no images", file=source, field="images")
    samples = []
    for img in images:
        file = images_dir / img["file_name"]
        if check_files and not file.is_file():
            raise SimgenError(f"image file missing: {file}", file=source, field="images")
        rows, labels, ignore = [], [], []
        for ann in by_image.get(img["id"], []):
            name = name_of.get(ann["category_id"])
            if name not in classes:
                continue
            crowd = bool(ann.get("iscrowd", 0))
            if crowd:
                x, y, w, h = ann["bbox"]
            elif boxes == "amodal":
                if "bbox_amodal" not in ann:
                    raise SimgenError(
                        "amodal boxes requested but the annotation has no bbox_amodal",
                        file=source,
                        field=f"annotations.id={ann['id']}",
                    )
                x, y, w, h = ann["bbox_amodal"]
            else:
                x, y, w, h = ann["bbox"]
            if w <= 0 or h <= 0:
                continue
            rows.append((x, y, x + w, y + h))
            labels.append(classes.index(name))
            ignore.append(crowd or bool(ann.get("ignore", False)))
        samples.append(
            Sample(
                path=file,
                image_id=int(img["id"]),
                width=int(img["width"]),
                height=int(img["height"]),
                boxes=np.asarray(rows, dtype=np.float32).reshape(-1, 4),
                labels=np.asarray(labels, dtype=np.int64),
                ignore=np.asarray(ignore, dtype=bool),
            )
        )
    return DetectionSet(
        name=path.name, samples=samples, categories=list(classes), coco=coco, source=source
    )


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB (grayscale files are expanded)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SimgenError("unreadable image", file=path)
    return image[:, :, ::-1]


def letterbox(image: np.ndarray, size: int | InputSize) -> tuple[np.ndarray, float]:
    """Scale an (H, W, 3) uint8 image to fit ``size`` keeping its aspect; pad right/bottom grey.

    Args:
        image: (H, W, 3) uint8.
        size: ``S`` for an (S, S) input, or ``(height, width)``.

    Returns:
        ``(out, scale)``: (height, width, 3) uint8 and the factor original -> letterboxed pixels
        (the largest that fits both sides).
    """
    import cv2

    out_h, out_w = input_size(size)
    height, width = image.shape[:2]
    scale = min(out_h / height, out_w / width)
    new_w = min(out_w, max(1, round(width * scale)))
    new_h = min(out_h, max(1, round(height * scale)))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    out = np.full((out_h, out_w, 3), 114, dtype=np.uint8)
    out[:new_h, :new_w] = resized
    return out, scale


@dataclass
class Prepared:
    """A dataset letterboxed in memory, ready for batches.

    Attributes:
        images: (N, H, W, 3) uint8 at the detector's input size.
        boxes: per image (M, 4) float32 in letterboxed pixels.
        labels, ignore: per image (M,) arrays.
        scales: (N,) float64 letterbox factors.
    """

    dataset: DetectionSet
    images: np.ndarray = field(repr=False)
    boxes: list[np.ndarray] = field(repr=False)
    labels: list[np.ndarray] = field(repr=False)
    ignore: list[np.ndarray] = field(repr=False)
    scales: np.ndarray = field(repr=False)


def prepare(
    dataset: DetectionSet, size: int | InputSize, progress=None, *, mirror: bool = False
) -> Prepared:
    """Decode and letterbox every image once to ``size`` (``S`` or ``(height, width)``).

    ``progress(1)`` is called after each image. ``mirror``: each image mirrored left to right
    before the letterbox, its boxes with it (a mirrored test pass, :mod:`simgen.gap.multiscale`).
    """
    height, width = input_size(size)
    images = np.zeros((len(dataset.samples), height, width, 3), dtype=np.uint8)
    scales = np.zeros(len(dataset.samples))
    boxes = []
    for i, sample in enumerate(dataset.samples):
        rgb = read_rgb(sample.path)
        found = sample.boxes
        if mirror:
            rgb = np.ascontiguousarray(rgb[:, ::-1])
            found = found.copy()
            found[:, [0, 2]] = rgb.shape[1] - sample.boxes[:, [2, 0]]
        images[i], scales[i] = letterbox(rgb, size)
        boxes.append(found * scales[i])
        if progress is not None:
            progress(1)
    return Prepared(
        dataset=dataset,
        images=images,
        boxes=boxes,
        labels=[s.labels for s in dataset.samples],
        ignore=[s.ignore for s in dataset.samples],
        scales=scales,
    )


def subset_prepared(prepared: Prepared, images: np.ndarray) -> Prepared:
    """The prepared set restricted to the given image indices (in that order)."""
    index = [int(i) for i in images]
    dataset = DetectionSet(
        name=prepared.dataset.name,
        samples=[prepared.dataset.samples[i] for i in index],
        categories=prepared.dataset.categories,
        coco=prepared.dataset.coco,
        source=prepared.dataset.source,
    )
    return Prepared(
        dataset=dataset,
        images=prepared.images[index],
        boxes=[prepared.boxes[i] for i in index],
        labels=[prepared.labels[i] for i in index],
        ignore=[prepared.ignore[i] for i in index],
        scales=prepared.scales[index],
    )


def augment_params(batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw per-image augmentation parameters: zoom, shift, flip and photometric jitter."""
    return {
        "zoom": rng.uniform(0.6, 1.5, size=batch),
        "shift": rng.uniform(-0.35, 0.35, size=(batch, 2)),
        "flip": rng.random(batch) < 0.5,
        "brightness": rng.uniform(0.65, 1.35, size=batch),
        "contrast": rng.uniform(0.65, 1.35, size=batch),
        "gain": rng.uniform(0.85, 1.15, size=(batch, 3)),
        "gray": rng.random(batch) < 0.1,
        "noise": rng.uniform(0.0, 0.04, size=batch),
        "noise_seed": rng.integers(2**31, size=1),
    }


def augment_boxes(
    boxes: np.ndarray, size: int | InputSize, zoom: float, shift: np.ndarray, flip: bool
) -> np.ndarray:
    """Apply the geometric part of :func:`augment_batch` to (M, 4) boxes; clipped to the image.

    ``size`` is the image's ``S`` or ``(height, width)``; ``shift`` is per axis in half sides.
    """
    height, width = input_size(size)
    out = np.empty(np.shape(boxes), dtype=np.result_type(boxes, zoom))
    for columns, side, move in (([0, 2], width, shift[0]), ([1, 3], height, shift[1])):
        centre = side / 2.0
        out[:, columns] = (boxes[:, columns] - centre) * zoom + centre + move * centre
        out[:, columns] = np.clip(out[:, columns], 0, side)
    if flip:
        out[:, [0, 2]] = width - out[:, [2, 0]]
    return out


def augment_batch(images, params: dict[str, np.ndarray]):
    """Zoom/shift/flip and colour-jitter a (B, 3, H, W) float tensor in [0, 1] (torch)."""
    import torch
    import torch.nn.functional as F

    batch = images.shape[0]
    zoom = torch.as_tensor(params["zoom"], dtype=images.dtype)
    shift = torch.as_tensor(params["shift"], dtype=images.dtype)
    sign = torch.where(torch.as_tensor(params["flip"]), -1.0, 1.0).to(images.dtype)
    theta = torch.zeros(batch, 2, 3, dtype=images.dtype)
    # Output u' = sign * (zoom * u + shift)  =>  input u = (sign * u' - shift) / zoom.
    theta[:, 0, 0] = sign / zoom
    theta[:, 0, 2] = -shift[:, 0] / zoom
    theta[:, 1, 1] = 1.0 / zoom
    theta[:, 1, 2] = -shift[:, 1] / zoom
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = out + (1.0 - F.grid_sample(torch.ones_like(images[:, :1]), grid, align_corners=False)) * (
        114 / 255
    )
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.as_tensor(params["contrast"], dtype=images.dtype).view(-1, 1, 1, 1)
    brightness = torch.as_tensor(params["brightness"], dtype=images.dtype).view(-1, 1, 1, 1)
    gain = torch.as_tensor(params["gain"], dtype=images.dtype).view(-1, 3, 1, 1)
    out = ((out - mean) * contrast + mean) * brightness * gain
    gray = torch.as_tensor(params["gray"]).view(-1, 1, 1, 1)
    out = torch.where(gray, out.mean(dim=1, keepdim=True).expand_as(out), out)
    generator = torch.Generator().manual_seed(int(params["noise_seed"][0]))
    noise = torch.randn(out.shape, generator=generator, dtype=out.dtype)
    out = out + noise * torch.as_tensor(params["noise"], dtype=out.dtype).view(-1, 1, 1, 1)
    return out.clamp(0.0, 1.0)


def make_targets(
    boxes: list[np.ndarray],
    labels: list[np.ndarray],
    ignore: list[np.ndarray],
    num_classes: int,
    size: int | InputSize,
    stride: int = STRIDE,
) -> dict[str, np.ndarray]:
    """CenterNet targets at ``stride`` (default :data:`STRIDE`) for a batch.

    Args:
        size: the input's ``S`` or ``(height, width)``; the maps are ``R = H // stride`` by
            ``Q = W // stride``.

    Returns:
        ``heat`` (B, C, R, Q) float32 Gaussian peaks (exactly 1 at each centre cell),
        ``weight`` (B, 1, R, Q) float32: 0 inside ignored instances' boxes (no loss there),
        ``size`` (B, 2, R, Q) log width/height in output cells, ``offset`` (B, 2, R, Q)
        sub-cell centre offset, ``mask`` (B, 1, R, Q) 1 at centre cells.
    """
    height, width = input_size(size)
    rows, cols = height // stride, width // stride
    batch = len(boxes)
    heat = np.zeros((batch, num_classes, rows, cols), dtype=np.float32)
    weight = np.ones((batch, 1, rows, cols), dtype=np.float32)
    wh = np.zeros((batch, 2, rows, cols), dtype=np.float32)
    offset = np.zeros((batch, 2, rows, cols), dtype=np.float32)
    mask = np.zeros((batch, 1, rows, cols), dtype=np.float32)
    grid_x = np.arange(cols, dtype=np.float32)
    grid_y = np.arange(rows, dtype=np.float32)
    for b in range(batch):
        for box, label, skip in zip(boxes[b], labels[b], ignore[b], strict=True):
            x0, y0, x1, y1 = box / stride
            w, h = x1 - x0, y1 - y0
            if w < 0.25 or h < 0.25:
                continue
            if skip:
                weight[b, 0, int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] = 0.0
                continue
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            ix, iy = min(int(cx), cols - 1), min(int(cy), rows - 1)
            sx, sy = max(w / 6.0, 0.5), max(h / 6.0, 0.5)
            gx = np.exp(-((grid_x - ix) ** 2) / (2 * sx * sx))
            gy = np.exp(-((grid_y - iy) ** 2) / (2 * sy * sy))
            heat[b, label] = np.maximum(heat[b, label], gy[:, None] * gx[None, :])
            heat[b, label, iy, ix] = 1.0
            wh[b, :, iy, ix] = (np.log(w), np.log(h))
            offset[b, :, iy, ix] = (cx - ix, cy - iy)
            mask[b, 0, iy, ix] = 1.0
    return {"heat": heat, "weight": weight, "size": wh, "offset": offset, "mask": mask}
