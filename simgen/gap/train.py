"""Time-budgeted training of the gap detector.

Batches are drawn from one or more prepared datasets with given probabilities (so a small real
set is not drowned by a large synthetic one), augmented on the fly, and fed to AdamW with a
cosine learning-rate schedule stretched over the time budget (the step count is estimated from
the measured speed of the first steps).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simgen.gap import import_torch
from simgen.gap.data import STRIDE, Prepared, augment_batch, augment_boxes, make_targets

torch = import_torch()


@dataclass
class TrainResult:
    """A trained model and what training did."""

    model: object
    steps: int
    images: int
    seconds: float
    final_loss: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def pick_device(name: str | None) -> str:
    """``cuda`` when asked for (or when ``None`` and available), else ``cpu``."""
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    return name


def _batch(
    sources: Sequence[Prepared],
    probabilities: np.ndarray,
    batch_size: int,
    num_classes: int,
    rng: np.random.Generator,
    augment: bool,
    augment_config=None,
    stride: int = STRIDE,
):
    size = (sources[0].images.shape[1], sources[0].images.shape[2])
    which = rng.choice(len(sources), size=batch_size, p=probabilities)
    picks = [(int(s), int(rng.integers(len(sources[s].images)))) for s in which]
    images = np.stack([sources[s].images[i] for s, i in picks])
    boxes = [sources[s].boxes[i].copy() for s, i in picks]
    labels = [sources[s].labels[i] for s, i in picks]
    ignore = [sources[s].ignore[i] for s, i in picks]
    if augment and augment_config is not None:
        from simgen.gap.augment import augment_image

        for b in range(batch_size):
            images[b], boxes[b], keep = augment_image(images[b], boxes[b], rng, augment_config)
            labels[b], ignore[b] = labels[b][keep], ignore[b][keep]
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    if augment and augment_config is None:
        from simgen.gap.data import augment_params

        params = augment_params(batch_size, rng)
        tensor = augment_batch(tensor, params)
        kept = []
        for b in range(batch_size):
            moved = augment_boxes(
                boxes[b], size, params["zoom"][b], params["shift"][b], params["flip"][b]
            )
            visible = ((moved[:, 2] - moved[:, 0]) >= 2) & ((moved[:, 3] - moved[:, 1]) >= 2)
            kept.append(visible)
            boxes[b] = moved[visible]
        labels = [lab[k] for lab, k in zip(labels, kept, strict=True)]
        ignore = [ign[k] for ign, k in zip(ignore, kept, strict=True)]
    targets = make_targets(boxes, labels, ignore, num_classes, size, stride=stride)
    return tensor, {k: torch.from_numpy(v) for k, v in targets.items()}


def lr_factor(step: int, total: int, warmup: int = 30) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, cosine to 2 % at ``total``."""
    ramp = min(1.0, (step + 1) / warmup)
    return ramp * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0))))


def optimizer_step(optimizer, model, losses: dict) -> float:
    """One update from ``losses["loss"]`` (gradients clipped to norm 10); returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    optimizer.step()
    return float(losses["loss"].detach())


def train(
    model,
    sources: Sequence[Prepared],
    probabilities: Sequence[float],
    *,
    num_classes: int,
    seconds: float,
    max_steps: int | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    lr: float = 2e-3,
    seed: int = 0,
    augment: bool = True,
    augment_config=None,
    log=None,
    log_every: int = 50,
) -> TrainResult:
    """Train ``model`` in place for ``seconds`` of wall time, or ``max_steps`` steps.

    Args:
        model: a :class:`~simgen.gap.model.CenterNet`.
        sources: prepared datasets to draw batches from.
        probabilities: chance of each source per image.
        num_classes: heat-map channels.
        seconds: time budget (the loop stops when it is spent); ignored with ``max_steps``.
        max_steps: a step budget instead (the same training on any machine).
        device: ``cpu`` or ``cuda``.
        lr: peak learning rate (cosine decay to 2 % of it over the estimated steps).
        seed: seeds batch sampling, augmentation and torch.
        augment: augment the batches.
        augment_config: an :class:`~simgen.gap.augment.AugmentConfig` (per-image augmentation
            of :mod:`simgen.gap.augment`); ``None``: the scratch detector's own batch
            augmentation (:func:`~simgen.gap.data.augment_batch`).
        log: optional callable ``(step, loss)`` called every ``log_every`` steps.
    """
    from simgen.gap.model import detection_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities /= probabilities.sum()
    model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    start = time.perf_counter()
    planned = max_steps
    step, loss_value = 0, float("nan")
    while True:
        elapsed = time.perf_counter() - start
        if max_steps is not None:
            if step >= max(1, max_steps):
                break
        elif elapsed >= seconds and step > 0:
            break
        if planned is None and step == 10:
            planned = max(20, int(seconds / (elapsed / 10)))
        total = planned or 10_000
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_factor(step, total)
        images, targets = _batch(
            sources,
            probabilities,
            batch_size,
            num_classes,
            rng,
            augment,
            augment_config,
            getattr(model, "stride", STRIDE),
        )
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        targets = {k: v.to(device) for k, v in targets.items()}
        loss_value = optimizer_step(optimizer, model, detection_loss(model(images), targets))
        step += 1
        if log is not None and step % log_every == 0:
            log(step, loss_value)
    seconds_used = time.perf_counter() - start
    model.eval()
    return TrainResult(model, step, step * batch_size, seconds_used, loss_value)


def predict(model, prepared: Prepared, *, device: str = "cpu", batch_size: int = 16):
    """Detections for every image of a prepared set, in original pixel coordinates.

    Returns:
        A list (one per image) of ``(boxes (K, 4) float32 xyxy, scores (K,), labels (K,))``.
    """
    from simgen.gap.model import decode

    stride = getattr(model, "stride", STRIDE)
    model.to(device).eval()
    results = []
    with torch.inference_mode():
        for start in range(0, len(prepared.images), batch_size):
            chunk = prepared.images[start : start + batch_size]
            tensor = torch.from_numpy(chunk).permute(0, 3, 1, 2).float().div_(255.0)
            tensor = tensor.to(device).contiguous(memory_format=torch.channels_last)
            boxes, scores, labels = decode(model(tensor), stride=stride)
            for j in range(len(chunk)):
                sample = prepared.dataset.samples[start + j]
                scale = prepared.scales[start + j]
                b = boxes[j].cpu().numpy() / scale
                b[:, [0, 2]] = b[:, [0, 2]].clip(0, sample.width)
                b[:, [1, 3]] = b[:, [1, 3]].clip(0, sample.height)
                results.append((b, scores[j].cpu().numpy(), labels[j].cpu().numpy()))
    return results
