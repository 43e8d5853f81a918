#!/usr/bin/env python
"""Does cut-and-paste augmentation help on a small real defect set? Magnetic tile, end to end.

1. Split ``magnetic-tile-dev`` by file name: per defect class the first half of the images
   (sorted by name) is the real training pool, the second half the test set; the defect-free
   images (``MT_Free``) are split the same way: the first half are the backgrounds for the
   composites (and negatives in the real training pool), the second half negatives in the test.
2. ``simgen composite`` pastes the real training instances onto the training backgrounds (the
   default config, or ``--config``, e.g. ``configs/composite_thin_defects.yaml``; a config with
   ``background_labels`` pastes onto all real training images, their defects kept labeled).
3. ``simgen gap`` (the label-efficiency curve: real-only, composites→real and composites+real
   at each count of real images, over seeds) on the real test half, once per judge
   (``--backbones lite0,scratch``: same data, same step budget).

Only the training half's instances and backgrounds are pasted; nothing of the test half is.
Writes ``WORK/summary.json`` and ``WORK/summary.md`` (the judges' curves side by side; with
``--config``, ``summary_<config stem>.*``).

Usage: python scripts/magnetic_tile_gap.py [--data ../shared/datasets/magnetic-tile-dev]
       [--work out/mt_gap] [--num 1000] [--steps 500] [--size 256] [--counts 0,25,all]
       [--seeds 3] [--backbones lite0,scratch] [--threads 2] [--config FILE] [--mix 0.5]
       [--reuse] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def simgen(*args: str) -> None:
    print("+ simgen", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "simgen.cli", *args], check=True)


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        os.symlink(src.resolve(), dst)


def split(data: Path, work: Path) -> dict[str, Path]:
    """Symlinked folders ``train/``, ``test/`` (CLASS/NAME.jpg + NAME.png) and ``free_train/``.

    ``train`` and ``test`` hold the defect classes plus their half of ``MT_Free`` as negatives.
    """
    out = {name: work / "split" / name for name in ("train", "test", "free_train")}
    if all(p.is_dir() for p in out.values()):
        return out
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        images = sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        half = len(images) // 2
        for part, chunk in (("train", images[:half]), ("test", images[half:])):
            targets = [out[part]]
            if folder.name == "MT_Free" and part == "train":
                targets.append(out["free_train"])
            for target in targets:
                for image in chunk:
                    link(image, target / folder.name / image.name)
                    mask = image.with_suffix(".png")
                    if mask.is_file() and target is not out["free_train"]:
                        link(mask, target / folder.name / mask.name)
    return out


def targets(curve: list[dict], classes: list[str]) -> list[str]:
    """The composite targets, computed from a curve at its largest real count: AP50 of
    composites+real against real only (target 1.25x), composites only against real only
    (target 0.5x), and the classes where composites+real is below real only by more than the
    larger of their two spreads over seeds."""
    top = max(r["real_images"] for r in curve)
    rows = {(r["train"], r["real_images"]): r for r in curve}
    real, mixed = rows.get(("real", top)), rows.get(("synthetic+real", top))
    alone = rows.get(("synthetic", 0))
    if real is None or real["AP50"] <= 0:
        return ["- no real-only row at the largest count"]
    out = []
    if mixed is not None:
        out.append(
            f"- composites+real / real AP50 at {top} real images: "
            f"{mixed['AP50']:.3f} / {real['AP50']:.3f} = {mixed['AP50'] / real['AP50']:.2f}x "
            f"(target 1.25x; spreads {mixed['AP50_std']:.3f}, {real['AP50_std']:.3f})"
        )
        worse = []
        for name in classes:
            r_mean, m_mean = real["per_class_AP50"][name], mixed["per_class_AP50"][name]
            if r_mean is None or m_mean is None:
                continue
            spread = max(real["per_class_AP50_std"][name], mixed["per_class_AP50_std"][name])
            if m_mean < r_mean - spread:
                worse.append(f"{name} ({m_mean:.3f} vs {r_mean:.3f} ± {spread:.3f})")
        out.append(
            "- classes worse than real only beyond the spread: " + (", ".join(worse) or "none")
        )
    if alone is not None:
        out.append(
            f"- composites only / real AP50: {alone['AP50']:.3f} / {real['AP50']:.3f} = "
            f"{alone['AP50'] / real['AP50']:.2f}x (target 0.5x)"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/datasets/magnetic-tile-dev"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "out/mt_gap")
    parser.add_argument("--num", type=int, default=1000, help="composites to make")
    parser.add_argument("--steps", type=int, default=500, help="optimizer steps per row")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--counts", default="0,25,all", help="counts of real training images")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbones", default="lite0,scratch")
    parser.add_argument("--scratch-counts", default=None, help="default: --counts")
    parser.add_argument("--scratch-seeds", type=int, default=None, help="default: --seeds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, default=None, help="composite config YAML")
    parser.add_argument(
        "--mix", default="0.5", help="share of composites in a composites+real batch"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a judge's finished gap.json under WORK instead of training it again",
    )
    parser.add_argument(
        "--readme", action="store_true", help="copy pictures to docs/images for the README"
    )
    args = parser.parse_args()
    parts = split(args.data, args.work)
    recipe = [] if args.config is None else ["--config", str(args.config)]
    backgrounds = parts["free_train"]
    if args.config is not None:
        from simgen.composite.config import load_composite_config

        if load_composite_config(args.config).background_labels:
            backgrounds = parts["train"]  # pasted onto the labeled training images too
    tag = "" if args.config is None else f"_{args.config.stem}"
    composites = args.work / f"composites_{args.num}{tag}"
    simgen("composite", "--instances", str(parts["train"]),
           "--backgrounds", str(backgrounds), "--out", str(composites),
           "--num", str(args.num), "--seed", str(args.seed), "--quiet", *recipe)  # fmt: skip
    results = {}
    for backbone in args.backbones.split(","):
        counts, seeds = args.counts, args.seeds
        if backbone == "scratch":
            counts = args.scratch_counts or counts
            seeds = args.scratch_seeds or seeds
        out = args.work / f"gap_{backbone}{tag}"
        if args.reuse and (out / "gap.json").is_file():
            print(f"reusing {out / 'gap.json'}")
            results[backbone] = json.loads((out / "gap.json").read_text())
            continue
        simgen("gap", "--train", str(composites), "--real-train", str(parts["train"]),
               "--test", str(parts["test"]), "--out", str(out), "--backbone", backbone,
               "--steps", str(args.steps), "--size", str(args.size),
               "--threads", str(args.threads), "--seed", str(args.seed),
               "--real-counts", counts, "--seeds", str(seeds), "--mix", args.mix)  # fmt: skip
        results[backbone] = json.loads((out / "gap.json").read_text())

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    first = next(iter(results.values()))
    classes = first["conventions"]["classes"]
    header = ["judge", "training data", "real images", "AP", "AP50",
              *[f"{c} AP50" for c in classes]]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for judge, result in results.items():
        for row in result["curve"]:
            cells = [judge, row["train"].replace("synthetic", "composites"),
                     str(row["real_images"]),
                     f"{row['AP']:.3f} ± {row['AP_std']:.3f}",
                     f"{row['AP50']:.3f} ± {row['AP50_std']:.3f}",
                     *[number(row["per_class_AP50"][c]) for c in classes]]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    conventions = first["conventions"]
    lines += [
        "",
        f"test: {conventions['test_images']} real images, {conventions['test_instances']} "
        f"instances; {args.steps} steps per row at {args.size} px, {args.threads} threads.",
        *[f"- {judge}: {r['summary']} ({r['minutes']:.1f} min)" for judge, r in results.items()],
    ]
    for judge, result in results.items():
        lines += ["", f"{judge}, against the targets:", *targets(result["curve"], classes)]
    summary = {judge: {k: r[k] for k in ("curve", "summary", "settings")}
               for judge, r in results.items()}  # fmt: skip
    (args.work / f"summary{tag}.json").write_text(json.dumps(summary, indent=1))
    (args.work / f"summary{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.readme:
        docs = ROOT / "docs/images"
        source = args.work / f"gap_{args.backbones.split(',')[0]}{tag}"
        shutil.copy(source / "label_efficiency.png", docs / f"gap_mt{tag}_label_efficiency.png")
        shutil.copy(source / "predictions.png", docs / f"gap_mt{tag}_predictions.png")
        print(f"copied the gap pictures to {docs}")


if __name__ == "__main__":
    main()
