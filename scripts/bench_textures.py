#!/usr/bin/env python
"""Benchmark: milliseconds per texture for every kind, against a trivial baseline.

For each size, every kind is generated ``--num`` times from different drawn parameter sets
(default config ranges) and the median is reported. The baseline, measured in the same run,
is the cheapest possible "texture": ``np.zeros`` of a quarter-size image upsampled to S x S
with ``cv2.resize`` (linear). Image textures crop a 1024 x 768 PNG; its decode is cached, as
it is in a render worker after the first use (the uncached first decode is reported apart).

Usage: python scripts/bench_textures.py [--num 30] [--sizes 256 512] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _median_ms(func: Callable[[int], object], num: int) -> float:
    """Median wall time in milliseconds of ``func(i)`` for ``i`` in ``range(num)``."""
    times = []
    for i in range(num):
        start = time.perf_counter()
        func(i)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=30, help="textures per kind and size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
    args = parser.parse_args()

    import cv2
    import numpy as np

    from simgen.randomize import texture
    from simgen.randomize.texture import (
        PROCEDURAL_KINDS,
        TextureConfig,
        make_texture,
        sample_texture,
        validate_texture_folder,
    )

    cv2.setNumThreads(args.threads)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, cv2 {cv2.__version__}, "
        f"cv2 threads {args.threads}, median of {args.num}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        photo = np.random.default_rng(0).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
        photo = cv2.GaussianBlur(photo, (0, 0), 3)  # photo-like, so PNG size is realistic
        cv2.imwrite(str(Path(tmp) / "photo.png"), photo)
        images = validate_texture_folder(Path(tmp), source="bench", field="folder")

        start = time.perf_counter()
        texture._load_rgb(str(images[0]))
        decode_ms = (time.perf_counter() - start) * 1e3

        header = f"{'kind':<10}" + "".join(f"{f'{s} ms':>11}{'ratio':>8}" for s in args.sizes)
        print(header)
        rows: dict[str, list[float]] = {"baseline": [], "sample": []}
        for size in args.sizes:
            small = (size // 4, size // 4)

            def baseline(_: int, size: int = size, small: tuple[int, int] = small) -> object:
                zeros = np.zeros((*small, 3), np.uint8)
                return cv2.resize(zeros, (size, size), interpolation=cv2.INTER_LINEAR)

            rows["baseline"].append(_median_ms(baseline, args.num))
            kinds = [*PROCEDURAL_KINDS, "image"]
            config = TextureConfig(p=1.0, size=size, kinds=kinds, folder=tmp)
            rows["sample"].append(
                _median_ms(
                    lambda i, c=config: sample_texture(c, np.random.default_rng(i), images), 100
                )
            )
            for kind in kinds:
                kind_config = TextureConfig(p=1.0, size=size, kinds=[kind], folder=tmp)
                params = [
                    sample_texture(kind_config, np.random.default_rng(i), images)
                    for i in range(args.num)
                ]
                rows.setdefault(kind, []).append(
                    _median_ms(lambda i, params=params: make_texture(params[i]), args.num)
                )
        for name, values in rows.items():
            line = f"{name:<10}"
            for value, base in zip(values, rows["baseline"], strict=True):
                line += f"{value:>11.2f}{value / base:>8.1f}"
            print(line)
        print(f"image: first (uncached) decode of the 1024x768 PNG: {decode_ms:.1f} ms")
        print("sample: one sample_texture call (all kinds, median of 100), not a texture")


if __name__ == "__main__":
    main()
