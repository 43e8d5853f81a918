"""Backbone features cached once, so that a frozen-backbone detector trains only its head.

With the backbone frozen, its output for an image never changes during training: computing it
once and training the neck and heads on the stored maps makes each optimizer step cost only
the head's share. Augmentation happens before the backbone, so each image is cached as
``copies`` augmented versions (drawn with :mod:`simgen.gap.augment`, seeded); the head samples
among them. Features are stored as float16 in RAM, within a memory bound: when the asked-for
copies do not fit, fewer are cached, and the caller is told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simgen.errors import SimgenError
from simgen.gap import import_torch
from simgen.gap.backbone import FEATURE_CHANNELS, FEATURE_STRIDES, recompute_batchnorm
from simgen.gap.data import InputSize, Prepared, input_size

torch = import_torch()


@dataclass
class FeatureSet:
    """Cached backbone features of (augmented copies of) a prepared dataset's images.

    Attributes:
        levels: per backbone level (strides 8/16/32) an (N, C, H/stride, W/stride) float16
            tensor; entry ``n`` is copy ``copy[n]`` of image ``image_index[n]``.
        boxes: per entry (M, 4) float32 ``(x0, y0, x1, y1)`` in (augmented) letterboxed pixels.
        labels, ignore: per entry (M,) int64 class indices and bool ignore flags.
        image_index: (N,) int64 index of each entry's image in the prepared dataset.
        copy: (N,) int64 which copy of its image each entry is.
        size: the input's ``(height, width)``.
    """

    levels: list = field(repr=False)
    boxes: list[np.ndarray] = field(repr=False)
    labels: list[np.ndarray] = field(repr=False)
    ignore: list[np.ndarray] = field(repr=False)
    image_index: np.ndarray = field(repr=False)
    copy: np.ndarray = field(repr=False)
    size: InputSize

    def __len__(self) -> int:
        return len(self.image_index)

    def subset(self, images: np.ndarray) -> FeatureSet:
        """The entries of the given image indices (every copy of each), in cache order."""
        keep = np.flatnonzero(np.isin(self.image_index, np.asarray(images)))
        index = torch.from_numpy(keep)
        return FeatureSet(
            levels=[level.index_select(0, index) for level in self.levels],
            boxes=[self.boxes[i] for i in keep],
            labels=[self.labels[i] for i in keep],
            ignore=[self.ignore[i] for i in keep],
            image_index=self.image_index[keep],
            copy=self.copy[keep],
            size=self.size,
        )


def bytes_per_entry(size: int | InputSize) -> int:
    """Bytes of one cached image's float16 features at input size ``S`` or ``(height, width)``."""
    height, width = input_size(size)
    pairs = zip(FEATURE_CHANNELS, FEATURE_STRIDES, strict=True)
    return 2 * sum(c * (height // s) * (width // s) for c, s in pairs)


def fitting_copies(images: int, copies: int, size: int | InputSize, max_bytes: int) -> int:
    """The number of copies (at most ``copies``) of ``images`` images that fit ``max_bytes``.

    Raises:
        SimgenError: not even one copy fits.
    """
    per_copy = images * bytes_per_entry(size)
    fit = min(copies, max_bytes // max(per_copy, 1))
    if fit < 1:
        raise SimgenError(
            f"one copy of {images} images' features needs {per_copy / 2**20:.0f} MiB, more than "
            f"the cache's {max_bytes / 2**20:.0f} MiB; raise --cache-mib or lower --size",
            file="--cache-mib",
        )
    return int(fit)


def _input_batch(batch: np.ndarray, device: str):
    """(B, H, W, 3) uint8 RGB -> the backbone's (B, 3, H, W) float input, channels-last."""
    tensor = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
    return tensor.contiguous(memory_format=torch.channels_last)


def domain_backbone(backbone, images: np.ndarray, *, batch_size: int = 16, device: str = "cpu"):
    """A copy of ``backbone`` whose BatchNorm statistics are those of ``images`` (AdaBN).

    AdaBN (Li et al. 2016) normalizes each domain by its own statistics: the weights stay the
    ImageNet ones, and every BatchNorm layer's running mean and variance are recomputed from
    one domain's images, layer after layer (each layer sees its inputs normalized by the
    statistics already recomputed upstream), averaged over batches (``momentum=None``).

    Args:
        backbone: :class:`~simgen.gap.backbone.EfficientNetLite0`; left unchanged.
        images: (N, H, W, 3) uint8 letterboxed RGB images of the domain, N >= 2.
        batch_size: images per forward pass.
        device: ``cpu`` or ``cuda``.

    Returns:
        The adapted copy, in eval mode.
    """
    import copy

    if len(images) < 2:
        raise SimgenError(
            f"BatchNorm statistics need at least 2 images, got {len(images)}", file="--adabn"
        )
    model = copy.deepcopy(backbone).to(device).eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    starts = list(range(0, len(images), batch_size))
    if len(images) - starts[-1] == 1:  # one image has no variance: it joins the batch before
        starts.pop()
    ends = [*starts[1:], len(images)]

    def run() -> None:
        for start, end in zip(starts, ends, strict=True):
            model.features(_input_batch(np.ascontiguousarray(images[start:end]), device))

    recompute_batchnorm(norms, run)
    for m, (mean, var) in zip(norms, saved, strict=True):
        if int(m.num_batches_tracked) == 0:  # not on the features' path (the classifier's)
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
    return model.eval()


def cache_features(
    backbone,
    prepared: Prepared,
    *,
    copies: int,
    augment,
    rng: np.random.Generator,
    batch_size: int = 32,
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> FeatureSet:
    """Run the frozen backbone over ``copies`` augmented copies of every image.

    Args:
        backbone: :class:`~simgen.gap.backbone.EfficientNetLite0` (used in eval mode).
        prepared: letterboxed images and boxes.
        copies: versions per image (copy 0 is augmented too unless ``augment`` is ``None``).
        augment: an :class:`~simgen.gap.augment.AugmentConfig`, or ``None`` for the plain
            images (test sets; then ``copies`` must be 1).
        rng: draws every augmentation parameter (the cache is a pure function of it).
        batch_size: images per backbone call.
        device: ``cpu`` or ``cuda``.
        progress: called with the number of entries finished after each batch.
    """
    from simgen.gap.augment import augment_image

    height, width = prepared.images.shape[1:3]
    if height % 32 or width % 32:
        raise SimgenError(
            f"the lite0 backbone needs sides that are multiples of 32, got {width}x{height}",
            file="--size",
        )
    count = len(prepared.images)
    total = count * copies
    levels = [
        torch.empty((total, c, height // s, width // s), dtype=torch.float16)
        for c, s in zip(FEATURE_CHANNELS, FEATURE_STRIDES, strict=True)
    ]
    boxes: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    ignore: list[np.ndarray] = []
    order = [(c, i) for c in range(copies) for i in range(count)]
    backbone.to(device).eval()
    with torch.inference_mode():
        for start in range(0, total, batch_size):
            chunk = order[start : start + batch_size]
            batch = np.empty((len(chunk), height, width, 3), dtype=np.uint8)
            for j, (_, i) in enumerate(chunk):
                if augment is None:
                    batch[j] = prepared.images[i]
                    boxes.append(prepared.boxes[i])
                    labels.append(prepared.labels[i])
                    ignore.append(prepared.ignore[i])
                    continue
                image, moved, keep = augment_image(
                    prepared.images[i], prepared.boxes[i], rng, augment
                )
                batch[j] = image
                boxes.append(moved.astype(np.float32))
                labels.append(prepared.labels[i][keep])
                ignore.append(prepared.ignore[i][keep])
            features = backbone.features(_input_batch(batch, device))
            for store, feature in zip(levels, features, strict=True):
                store[start : start + len(chunk)] = feature.to("cpu", torch.float16)
            if progress is not None:
                progress(len(chunk))
    return FeatureSet(
        levels=levels,
        boxes=boxes,
        labels=labels,
        ignore=ignore,
        image_index=np.asarray([i for _, i in order], dtype=np.int64),
        copy=np.asarray([c for c, _ in order], dtype=np.int64),
        size=(int(height), int(width)),
    )
