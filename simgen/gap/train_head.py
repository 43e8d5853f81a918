"""Training and prediction of the lite0 detector's head on cached backbone features.

A step draws a batch of cached entries (each an augmented copy of an image) from one or more
:class:`~simgen.gap.features.FeatureSet` with given probabilities, builds CenterNet targets at
stride :data:`~simgen.gap.detector.STRIDE`, and takes one AdamW step on the head (linear
warm-up, cosine decay to 2 % over the step budget). Everything is seeded by ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from simgen.gap import import_torch
from simgen.gap.backbone import recompute_batchnorm
from simgen.gap.data import Prepared, make_targets
from simgen.gap.detector import STRIDE
from simgen.gap.features import FeatureSet
from simgen.gap.train import TrainResult, lr_factor, optimizer_step

torch = import_torch()


def feature_batch(
    sources: Sequence[FeatureSet],
    probabilities: np.ndarray,
    batch_size: int,
    num_classes: int,
    rng: np.random.Generator,
):
    """Draw a batch: ``(levels [(B, C, h, w) float32], targets {name: tensor}))``."""
    which = rng.choice(len(sources), size=batch_size, p=probabilities)
    levels, boxes, labels, ignore = [[] for _ in sources[0].levels], [], [], []
    for s in range(len(sources)):
        picks = rng.integers(len(sources[s]), size=int((which == s).sum()))
        if not len(picks):
            continue
        index = torch.from_numpy(picks)
        for store, level in zip(levels, sources[s].levels, strict=True):
            store.append(level.index_select(0, index))
        boxes += [sources[s].boxes[i] for i in picks]
        labels += [sources[s].labels[i] for i in picks]
        ignore += [sources[s].ignore[i] for i in picks]
    targets = make_targets(boxes, labels, ignore, num_classes, sources[0].size, stride=STRIDE)
    tensors = [torch.cat(parts).float() for parts in levels]
    return tensors, {k: torch.from_numpy(v) for k, v in targets.items()}


def train_head(
    head,
    sources: Sequence[FeatureSet],
    probabilities: Sequence[float],
    *,
    num_classes: int,
    steps: int,
    lr: float = 2e-3,
    seed: int = 0,
    batch_size: int = 32,
    device: str = "cpu",
    log: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train an :class:`~simgen.gap.detector.FPNHead` in place for ``steps`` steps.

    Args:
        head: the head to train (its current weights are the starting point).
        sources: cached features to draw from; ``probabilities`` the chance of each per entry.
        num_classes: heat-map channels.
        steps: optimizer steps.
        lr: peak learning rate.
        seed: seeds batch sampling and torch.
        batch_size: entries per step.
        log: called with the step number after every step.
    """
    from simgen.gap.model import detection_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    p = np.asarray(probabilities, dtype=np.float64)
    p /= p.sum()
    head.to(device).train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    start = time.perf_counter()
    loss_value = float("nan")
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_factor(step, steps)
        levels, targets = feature_batch(sources, p, batch_size, num_classes, rng)
        levels = [level.to(device) for level in levels]
        targets = {k: v.to(device) for k, v in targets.items()}
        loss_value = optimizer_step(optimizer, head, detection_loss(head(levels), targets))
        if log is not None:
            log(step + 1)
    head.eval()
    return TrainResult(head, steps, steps * batch_size, time.perf_counter() - start, loss_value)


def predict_features(
    head, features: FeatureSet, prepared: Prepared, *, device: str = "cpu", batch_size: int = 64
):
    """Detections for every entry of ``features`` (one plain copy per image of ``prepared``).

    Returns:
        A list (one per image) of ``(boxes (K, 4) float32 xyxy in original pixels, scores (K,),
        labels (K,))``.
    """
    from simgen.gap.model import decode

    head.to(device).eval()
    results = []
    with torch.inference_mode():
        for start in range(0, len(features), batch_size):
            levels = [level[start : start + batch_size].to(device) for level in features.levels]
            boxes, scores, labels = decode(head(levels), stride=STRIDE)
            for j in range(len(levels[0])):
                i = int(features.image_index[start + j])
                sample, scale = prepared.dataset.samples[i], prepared.scales[i]
                b = boxes[j].cpu().numpy() / scale
                b[:, [0, 2]] = b[:, [0, 2]].clip(0, sample.width)
                b[:, [1, 3]] = b[:, [1, 3]].clip(0, sample.height)
                results.append((b, scores[j].cpu().numpy(), labels[j].cpu().numpy()))
    return results


def adapt_batchnorm(module, batches) -> int:
    """AdaBN: recompute the statistics of ``module``'s trainable BatchNorm layers.

    Every BatchNorm whose weight requires grad gets fresh running statistics, averaged
    (``momentum=None``) over the forward passes of ``batches`` (an iterable of inputs to
    ``module``). Frozen BatchNorm layers and all weights stay as they are.

    Returns:
        The number of BatchNorm layers adapted.
    """
    norms = [
        m
        for m in module.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.weight.requires_grad
    ]
    if not norms:
        return 0
    was_training = module.training
    module.eval()

    def run() -> None:
        for batch in batches:
            module(batch)

    recompute_batchnorm(norms, run)
    module.train(was_training)
    return len(norms)
