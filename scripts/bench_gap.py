#!/usr/bin/env python
"""Optimizer steps per minute of the gap judges, measured side by side in one run.

Sides, on the same images at the same input size and batch size:

- ``scratch``: today's from-scratch CenterNet (``--backbone scratch``), a full forward and
  backward pass per step with its on-the-fly batch augmentation;
- ``lite0 head``: the frozen pretrained backbone's cached features (``--backbone lite0``, the
  default), one head step per step; the time to cache the features is reported separately
  (images per second) and as the number of head steps it is worth;
- ``lite0 finetune``: ``--finetune-stages 1`` (no cache: backbone forward, last stage and head
  backward, per-image augmentation), with ``--finetune``;
- ``lite0 head CxB``: a wider or deeper head on the same cached features (``--head-channels C
  --head-blocks B``), one side per item of ``--heads``.

Prints each side's steps/min and the ratio against ``scratch``. Sides alternate over
``--repeats`` rounds (the machine's drift hits each side alike); the median is reported.

Usage: python scripts/bench_gap.py [--data out/lmo_gap/synthetic] [--images 200] [--size 320]
       [--batch 16] [--steps 20] [--repeats 3] [--threads 2] [--finetune] [--device cuda]
       [--heads 128x1,64x3]

``--size`` is ``S`` or ``WxH`` (e.g. ``1024x320``, the KITTI protocol's input).

``--device cuda`` runs every side on a CUDA GPU (where one is there; the project never needs
it); the CPU thread count still applies to data preparation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "out/lmo_gap/synthetic")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", default="320", help="S or WxH")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--finetune", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--heads", default="", help="extra head sides, CHANNELSxBLOCKS,...")
    args = parser.parse_args()

    import torch

    from simgen.gap.augment import AugmentConfig
    from simgen.gap.backbone import load_lite0
    from simgen.gap.data import input_size, load_detection_set, prepare, size_text
    from simgen.gap.detector import FPNHead, Lite0Detector
    from simgen.gap.features import cache_features
    from simgen.gap.model import CenterNet
    from simgen.gap.train import train
    from simgen.gap.train_head import train_head

    torch.set_num_threads(args.threads)
    data = load_detection_set(args.data)
    data.samples = data.samples[: args.images]
    size = input_size(args.size)
    prepared = prepare(data, size)
    classes = len(data.categories)
    backbone = load_lite0()
    start = time.perf_counter()
    features = cache_features(backbone, prepared, copies=1, augment=AugmentConfig(),
                              rng=np.random.default_rng(0), device=args.device)  # fmt: skip
    cache_seconds = time.perf_counter() - start

    def scratch() -> float:
        torch.manual_seed(0)
        model = CenterNet(classes)
        result = train(model, [prepared], [1.0], num_classes=classes, seconds=1e9,
                       max_steps=args.steps, batch_size=args.batch,
                       device=args.device)  # fmt: skip
        return result.steps / result.seconds * 60

    def head(channels: int = 64, blocks: int = 1) -> float:
        torch.manual_seed(0)
        model = FPNHead(classes, neck=channels, blocks=blocks)
        result = train_head(model, [features], [1.0], num_classes=classes,
                            steps=args.steps * 5, batch_size=args.batch,
                            device=args.device)  # fmt: skip
        return result.steps / result.seconds * 60

    def finetune() -> float:
        torch.manual_seed(0)
        model = Lite0Detector(classes, finetune_stages=1, backbone=backbone)
        result = train(model, [prepared], [1.0], num_classes=classes, seconds=1e9,
                       max_steps=args.steps, batch_size=args.batch,
                       augment_config=AugmentConfig(), device=args.device)  # fmt: skip
        return result.steps / result.seconds * 60

    sides = {"scratch": scratch, "lite0 head": head}
    if args.finetune:
        sides["lite0 finetune"] = finetune
    for item in filter(None, args.heads.split(",")):
        channels, blocks = (int(v) for v in item.split("x"))
        sides[f"lite0 head {channels}x{blocks}"] = lambda c=channels, b=blocks: head(c, b)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, side in sides.items():
            rates[name].append(side())
    base = statistics.median(rates["scratch"])
    where = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"device {where}, images {len(prepared.images)}, size {size_text(size)}, "
          f"batch {args.batch}, threads {torch.get_num_threads()}, "
          f"repeats {args.repeats}")  # fmt: skip
    print(f"feature cache: {len(prepared.images) / cache_seconds:.1f} images/s "
          f"({cache_seconds:.1f} s for {len(prepared.images)} images)")  # fmt: skip
    head_rate = statistics.median(rates["lite0 head"])
    for name, values in rates.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        wider = name.startswith("lite0 head ")
        versus = f"  x{median / head_rate:5.2f} of lite0 head" if wider else ""
        print(f"{name:20s} {median:8.1f} steps/min  x{median / base:6.2f}{versus}  (runs: {runs})")
    worth = cache_seconds / len(prepared.images) / (60 / head_rate)
    print(f"caching one image costs as much as {worth:.2f} head steps")


if __name__ == "__main__":
    main()
