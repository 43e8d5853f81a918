"""The two detectors that ``simgen gap`` can judge data with, behind one small interface.

- :class:`Lite0Judge` (``--backbone lite0``, the default): ImageNet-pretrained
  EfficientNet-Lite0, FPN neck, CenterNet heads (:mod:`simgen.gap.detector`). With the backbone
  frozen, features of augmented copies are cached once (:mod:`simgen.gap.features`) and only the
  head trains; with ``finetune_stages`` > 0 the whole detector trains on images augmented on the
  fly.
- :class:`ScratchJudge` (``--backbone scratch``): the small CenterNet trained from random
  initialization (:mod:`simgen.gap.model`, :mod:`simgen.gap.train`), kept so that results can
  be compared with the earlier judge.

Both train on named sources (``synthetic``, ``real``; ``real`` optionally restricted to a subset
of its images) for a number of steps, and predict on the test set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from simgen.errors import SimgenError
from simgen.gap import HEAD_BLOCKS, HEAD_CHANNELS, import_torch
from simgen.gap.data import Prepared, subset_prepared
from simgen.gap.train import TrainResult

torch = import_torch()

Source = tuple[str, np.ndarray | None]
"""A training source: a prepared set's name and the indices of its images to use (None: all)."""

Progress = Callable[[str, int], Callable[[int], None]]
"""``progress(description, total)`` returns a callback advancing that bar by n."""

DOMAIN_IMAGES = 256
"""Synthetic images (drawn once, without replacement) whose BatchNorm statistics the synthetic
domain's backbone takes, with ``domain_statistics``: enough for per-channel means at every
layer, a few backbone passes of cost."""


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class JudgeSettings:
    """What both judges share: classes, input size, device and batch size."""

    num_classes: int
    size: tuple[int, int]
    device: str = "cpu"
    batch_size: int = 16
    test_scales: tuple[float, ...] = (1.0,)
    """Input scales the scored sets are predicted at (:mod:`simgen.gap.multiscale`); each scale
    other than 1 needs the set prepared as ``scaled_name(name, scale)``."""
    test_flip: bool = False
    """Also predict each scale's pass on the images mirrored; each needs its set prepared as
    ``mirrored_name(name)`` or ``mirrored_name(scaled_name(name, scale))``."""


class ImageJudge:
    """Training on images augmented on the fly (no feature cache); the shared part of both
    judges. Subclasses set :attr:`name`, :meth:`new_model` and :attr:`augment` (an
    :class:`~simgen.gap.augment.AugmentConfig`, or ``None`` for the scratch detector's own
    batch augmentation)."""

    name = ""
    augment = None

    def __init__(self, settings: JudgeSettings) -> None:
        self.settings = settings
        self.prepared: dict[str, Prepared] = {}

    def prepare(self, prepared: dict[str, Prepared], progress: Progress = _no_progress) -> None:
        """Keep the prepared sets (names ``synthetic``, ``real``, ``test``, ``unlabeled``)."""
        self.prepared = prepared

    def new_model(self, seed: int):
        raise NotImplementedError

    def fit(
        self,
        model,
        sources: Sequence[Source],
        probabilities: Sequence[float],
        *,
        steps: int,
        lr: float,
        seed: int,
        progress: Callable[[int], None] | None = None,
    ) -> TrainResult:
        """Train ``model`` in place for ``steps`` steps on the sources."""
        from simgen.gap.train import train

        data = [_pick(self.prepared, name, images) for name, images in sources]
        return train(
            model,
            data,
            probabilities,
            num_classes=self.settings.num_classes,
            seconds=float("inf"),
            max_steps=steps,
            device=self.settings.device,
            batch_size=self.settings.batch_size,
            lr=lr,
            seed=seed,
            augment_config=self.augment,
            log=None if progress is None else (lambda step, loss: progress(step)),
            log_every=1,
        )

    def adapt(self, model) -> int:
        """AdaBN on the ``unlabeled`` set: recompute trainable BatchNorm statistics."""
        from simgen.gap.train_head import adapt_batchnorm

        if "unlabeled" not in self.prepared:
            return 0
        images = self.prepared["unlabeled"].images
        batches = (
            torch.from_numpy(images[s : s + 16]).permute(0, 3, 1, 2).float().div(255.0)
            for s in range(0, len(images), 16)
        )
        return adapt_batchnorm(model, batches)

    def predict(self, model, name: str = "test"):
        """Detections on a scored set, ``test`` or ``val``: one list entry per image, each
        ``(boxes (K, 4), scores (K,), labels (K,))`` in original pixels; with several
        ``settings.test_scales``, every scale's pass merged, the shrunken ones keeping their
        tall detections only; with ``settings.test_flip``, each scale's mirrored pass too, its
        boxes mirrored back (:mod:`simgen.gap.multiscale`)."""
        from simgen.gap.multiscale import (
            MIN_SHRUNK_HEIGHT,
            keep_tall,
            merge_detections,
            mirror_detections,
            mirrored_name,
            scaled_name,
        )

        widths = [sample.width for sample in self.prepared[name].dataset.samples]
        mirrors = (False, True) if self.settings.test_flip else (False,)
        passes = []
        for scale in self.settings.test_scales:
            pass_name = name if scale == 1.0 else scaled_name(name, scale)
            for mirrored in mirrors:
                found = self.predict_pass(
                    model, mirrored_name(pass_name) if mirrored else pass_name
                )
                if mirrored:
                    found = [mirror_detections(f, w) for f, w in zip(found, widths, strict=True)]
                if scale != 1.0:
                    scales = self.prepared[pass_name].scales
                    found = [
                        keep_tall(f, float(s), MIN_SHRUNK_HEIGHT)
                        for f, s in zip(found, scales, strict=True)
                    ]
                passes.append(found)
        if len(passes) == 1:
            return passes[0]
        return [merge_detections(parts) for parts in zip(*passes, strict=True)]

    def predict_pass(self, model, name: str):
        """Detections on one prepared set (:func:`simgen.gap.train.predict`)."""
        from simgen.gap.train import predict

        return predict(model, self.prepared[name], device=self.settings.device)

    def clone(self, model):
        """A copy of a trained model (to fine-tune it without changing the original)."""
        return copy.deepcopy(model)


class Lite0Judge(ImageJudge):
    """Pretrained EfficientNet-Lite0 + FPN + CenterNet heads.

    Args:
        settings: classes, size, device, batch size.
        finetune_stages: backbone stages that train (0: frozen, features cached).
        augment: :class:`~simgen.gap.augment.AugmentConfig` for training images.
        copies: augmented copies cached per image, per source name (e.g. ``{"synthetic": 1,
            "real": 16}``); each is capped so that the cache fits ``cache_bytes``.
        cache_bytes: memory bound of all cached features together.
        cache_seed: seeds the cached copies' augmentation (one cache serves every seed's rows).
        domain_statistics: AdaBN in the frozen backbone: the ``synthetic`` set's features
            through BatchNorm statistics of :data:`DOMAIN_IMAGES` of its own images, every
            other set's through those of the ``unlabeled`` set (real images), instead of
            ImageNet's for both (:func:`simgen.gap.features.domain_backbone`).
        neck: channels of the head's neck (:class:`~simgen.gap.detector.FPNHead`).
        blocks: depthwise-separable blocks of the head's shared part.
    """

    name = "lite0"

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        finetune_stages: int = 0,
        augment=None,
        copies: dict[str, int] | None = None,
        cache_bytes: int = 4 << 30,
        cache_seed: int = 0,
        domain_statistics: bool = False,
        neck: int = HEAD_CHANNELS,
        blocks: int = HEAD_BLOCKS,
    ) -> None:
        from simgen.gap.augment import AugmentConfig
        from simgen.gap.backbone import load_lite0

        if domain_statistics and finetune_stages:
            raise SimgenError(
                "AdaBN in the backbone needs a frozen backbone", file="--finetune-stages"
            )
        super().__init__(settings)
        self.domain_statistics = domain_statistics
        self.neck, self.blocks = neck, blocks
        self.finetune_stages = finetune_stages
        self.augment = augment if augment is not None else AugmentConfig()
        self.copies = copies or {}
        self.cache_bytes = cache_bytes
        self.cache_seed = cache_seed
        self.backbone = load_lite0()
        self.features: dict = {}
        self.cached_copies: dict[str, int] = {}

    @property
    def frozen(self) -> bool:
        return self.finetune_stages == 0

    def prepare(self, prepared: dict[str, Prepared], progress: Progress = _no_progress) -> None:
        """Keep the prepared sets; with a frozen backbone, cache their features.

        The scored sets (``test``, ``val``, and each at its extra test scales, ``test@0.5``)
        and ``unlabeled`` are cached as one plain copy each.
        """
        from simgen.gap.features import (
            bytes_per_entry,
            cache_features,
            domain_backbone,
            fitting_copies,
        )
        from simgen.gap.multiscale import is_extra_pass, pass_base

        self.prepared = prepared
        if not self.frozen:
            return
        backbones = {"synthetic": self.backbone, "real": self.backbone}
        if self.domain_statistics:
            if "unlabeled" not in prepared:
                raise SimgenError(
                    "AdaBN in the backbone needs unlabeled real images", file="--adabn"
                )
            synthetic = prepared["synthetic"].images
            pick = np.random.default_rng([self.cache_seed, 0xADAB]).choice(
                len(synthetic), size=min(DOMAIN_IMAGES, len(synthetic)), replace=False
            )
            for domain, images in (
                ("synthetic", synthetic[np.sort(pick)]),
                ("real", prepared["unlabeled"].images),
            ):
                advance = progress(f"BatchNorm statistics: {domain}", 1)
                backbones[domain] = domain_backbone(
                    self.backbone, images, device=self.settings.device
                )
                advance(1)
        budget = self.cache_bytes
        plain_sets = ("test", "unlabeled", "val")
        # ``val`` goes last, so the training sets' cache seeds do not depend on it: a run with
        # --val trains exactly the models of the same run without it.
        # The scaled scored sets go after it, for the same reason.
        scaled = [n for n in prepared if is_extra_pass(n)]
        trained = [n for n in prepared if n not in plain_sets and n not in scaled]
        order = ["test", "unlabeled", *trained, "val", *scaled]
        for index, name in enumerate(n for n in order if n in prepared):
            data = prepared[name]
            plain = pass_base(name) in plain_sets
            wanted = 1 if plain else self.copies.get(name, 1)
            size = data.images.shape[1:3]  # the input size, smaller for a scaled scored set
            copies = fitting_copies(len(data.images), wanted, size, budget)
            budget -= copies * len(data.images) * bytes_per_entry(size)
            self.cached_copies[name] = copies
            rng = np.random.default_rng([self.cache_seed, index, 0xFEA7])
            self.features[name] = cache_features(
                backbones["synthetic" if name == "synthetic" else "real"],
                data,
                copies=copies,
                augment=None if plain else self.augment,
                rng=rng,
                device=self.settings.device,
                progress=progress(
                    f"caching features: {name} ({copies} cop{'y' if copies == 1 else 'ies'})",
                    copies * len(data.images),
                ),
            )

    def new_model(self, seed: int):
        """A fresh head (frozen backbone) or detector, initialized from ``seed``."""
        from simgen.gap.detector import FPNHead, Lite0Detector

        torch.manual_seed(seed)
        if self.frozen:
            return FPNHead(self.settings.num_classes, neck=self.neck, blocks=self.blocks)
        return Lite0Detector(
            self.settings.num_classes,
            self.finetune_stages,
            backbone=self.backbone,
            neck=self.neck,
            blocks=self.blocks,
        )

    def fit(
        self,
        model,
        sources: Sequence[Source],
        probabilities: Sequence[float],
        *,
        steps: int,
        lr: float,
        seed: int,
        progress: Callable[[int], None] | None = None,
    ) -> TrainResult:
        """Train ``model`` in place for ``steps`` steps on the sources."""
        if self.frozen:
            from simgen.gap.train_head import train_head

            sets = []
            for name, images in sources:
                features = self.features[name]
                sets.append(features if images is None else features.subset(images))
            return train_head(
                model,
                sets,
                probabilities,
                num_classes=self.settings.num_classes,
                steps=steps,
                lr=lr,
                seed=seed,
                batch_size=self.settings.batch_size,
                device=self.settings.device,
                log=progress,
            )
        return super().fit(
            model, sources, probabilities, steps=steps, lr=lr, seed=seed, progress=progress
        )

    def adapt(self, model) -> int:
        """AdaBN on the ``unlabeled`` set: recompute trainable BatchNorm statistics."""
        from simgen.gap.train_head import adapt_batchnorm

        if not self.frozen or "unlabeled" not in self.features:
            return super().adapt(model)
        features = self.features["unlabeled"]
        batches = (
            [level[s : s + 32].float() for level in features.levels]
            for s in range(0, len(features), 32)
        )
        return adapt_batchnorm(model, batches)

    def pseudo_label(self, model, score: float) -> int:
        """Self-training: ``model``'s detections on the ``unlabeled`` set become labels.

        Detections with a score of at least ``score`` are the boxes of a new feature set,
        ``pseudo``: the ``unlabeled`` set's cached features (one plain copy per image) with
        those boxes, in letterboxed pixels, and no ignore regions.

        Returns:
            The number of pseudo-labelled boxes.
        """
        import dataclasses

        from simgen.gap.train_head import predict_features

        if not self.frozen or "unlabeled" not in self.features:
            raise SimgenError(
                "self-training needs the frozen lite0 backbone and unlabeled real images",
                file="--self-train",
            )
        features, prepared = self.features["unlabeled"], self.prepared["unlabeled"]
        found = predict_features(model, features, prepared, device=self.settings.device)
        boxes, labels, ignore = [], [], []
        for entry, (b, scores, classes) in enumerate(found):
            keep = scores >= score
            scale = prepared.scales[int(features.image_index[entry])]
            boxes.append((b[keep] * scale).astype(np.float32))
            labels.append(classes[keep].astype(np.int64))
            ignore.append(np.zeros(int(keep.sum()), dtype=bool))
        self.features["pseudo"] = dataclasses.replace(
            features, boxes=boxes, labels=labels, ignore=ignore
        )
        return sum(len(b) for b in boxes)

    def predict_pass(self, model, name: str):
        """Detections on one prepared set, from its cached features when the backbone is frozen
        (:func:`simgen.gap.train_head.predict_features`)."""
        if not self.frozen:
            return super().predict_pass(model, name)
        from simgen.gap.train_head import predict_features

        return predict_features(
            model, self.features[name], self.prepared[name], device=self.settings.device
        )


class ScratchJudge(ImageJudge):
    """The CenterNet trained from scratch, with its own on-the-fly batch augmentation.

    Args:
        settings: classes, size, device, batch size.
        width: detector width.
    """

    name = "scratch"

    def __init__(self, settings: JudgeSettings, *, width: int = 24) -> None:
        super().__init__(settings)
        self.width = width

    def new_model(self, seed: int):
        """A CenterNet initialized from ``seed``."""
        from simgen.gap.model import CenterNet

        torch.manual_seed(seed)
        return CenterNet(self.settings.num_classes, width=self.width)


def _pick(prepared: dict[str, Prepared], name: str, images: np.ndarray | None) -> Prepared:
    data = prepared[name]
    return data if images is None else subset_prepared(data, images)
