#!/usr/bin/env python
"""Composite throughput: milliseconds per image by blend mode, against a copy baseline.

Baseline (same run, same images): decode the background, encode it as PNG, write it and a
record; that is what a composite costs at least. Each blend mode then runs the whole
``simgen composite`` path (cut-outs loaded once; per image: sample, warp, match, paste,
label, PNG + record written) with every instance using that mode; ``default`` is the default
config and ``thin-recipe`` the recipe ``configs/composite_thin_defects.yaml`` (its own counts).

Usage: python scripts/bench_composite.py [--data ../shared/datasets/magnetic-tile-dev]
       [--num 200] [--count 1,3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from simgen.composite.config import load_composite_config
from simgen.composite.run import composite_dataset
from simgen.composite.sources import list_backgrounds, read_image
from simgen.io import atomic_write_bytes, atomic_write_text, dump_json, encode_png

ROOT = Path(__file__).resolve().parents[1]


def baseline(backgrounds: list[Path], num: int, out: Path) -> float:
    """Seconds to decode, encode and write ``num`` backgrounds (cycled) with a record."""
    out.mkdir(parents=True)
    start = time.perf_counter()
    for i in range(num):
        rgb, gray = read_image(backgrounds[i % len(backgrounds)])
        image = rgb[:, :, 0] if gray else rgb
        atomic_write_bytes(out / f"{i:06d}.png", encode_png(image))
        atomic_write_text(out / f"{i:06d}.json", dump_json({"index": i}))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/datasets/magnetic-tile-dev"
    )
    parser.add_argument("--num", type=int, default=200)
    parser.add_argument("--count", default="1,3", help="instances per image, min,max")
    args = parser.parse_args()
    backgrounds = list_backgrounds(args.data / "MT_Free")
    low, high = (int(v) for v in args.count.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(backgrounds, args.num, Path(tmp) / "baseline")
        print(f"{args.num} images, {low}-{high} instances each, magnetic-tile-dev")
        print(f"{'mode':<12} {'ms/img':>8} {'img/s':>7} {'x baseline':>10}")
        print(f"{'baseline':<12} {1000 * base / args.num:8.2f} {args.num / base:7.1f} {1.0:10.2f}")
        blends = ("hard", "feather", "poisson", "difference")
        for mode in (*blends, "default", "thin-recipe"):
            items = [f"num_images={args.num}"]
            if mode != "thin-recipe":
                items.append(f"count=[{low}, {high}]")
            if mode in blends:
                items += [f"blend.{m}={int(m == mode)}" for m in blends]
            recipe = ROOT / "configs/composite_thin_defects.yaml" if mode == "thin-recipe" else None
            config = load_composite_config(recipe, items)
            out = Path(tmp) / mode
            start = time.perf_counter()
            summary = composite_dataset(config, args.data, args.data / "MT_Free", out)
            total = time.perf_counter() - start  # includes loading the cut-outs and COCO
            per_image = summary.seconds / args.num
            print(
                f"{mode:<12} {1000 * per_image:8.2f} {1 / per_image:7.1f} "
                f"{per_image / (base / args.num):10.2f}   (run with set-up and COCO: "
                f"{total:.1f} s)"
            )


if __name__ == "__main__":
    main()
