#!/usr/bin/env python
"""Does cut-and-paste augmentation help on a small real defect set? Magnetic tile, end to end.

1. Split ``magnetic-tile-dev`` by file name: per defect class the first half of the images
   (sorted by name) is the real training set, the second half the test set; the defect-free
   images (``MT_Free``) are split the same way: the first half are the backgrounds for the
   composites (and negatives in the real training set), the second half negatives in the test.
2. ``simgen composite`` pastes the real training instances onto the training backgrounds, at
   several amounts.
3. ``simgen gap`` scores on the real test half: real training only, composites only, real +
   composites (each amount), and composites then fine-tuned on real.

Only the training half's instances and backgrounds are pasted; nothing of the test half is.
Writes ``WORK/summary.json`` and ``WORK/summary.md`` (AP and AP50, overall and per class).

Usage: python scripts/magnetic_tile_gap.py [--data ../shared/datasets/magnetic-tile-dev]
       [--work out/mt_gap] [--amounts 250,1000,4000] [--main 1000] [--minutes 4]
       [--size 256] [--threads 2] [--readme]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/datasets/magnetic-tile-dev"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "out/mt_gap")
    parser.add_argument("--amounts", default="250,1000,4000", help="composite counts to try")
    parser.add_argument("--main", type=int, default=1000, help="amount for the full row set")
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget per row")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--readme", action="store_true", help="copy pictures to docs/images for the README"
    )
    args = parser.parse_args()
    amounts = sorted({int(a) for a in args.amounts.split(",")} | {args.main})
    parts = split(args.data, args.work)
    common = ["--minutes", str(args.minutes), "--size", str(args.size),
              "--threads", str(args.threads), "--seed", str(args.seed)]  # fmt: skip
    results = {}
    for amount in amounts:
        composites = args.work / f"composites_{amount}"
        simgen("composite", "--instances", str(parts["train"]),
               "--backgrounds", str(parts["free_train"]), "--out", str(composites),
               "--num", str(amount), "--seed", str(args.seed), "--quiet")  # fmt: skip
        rows = "synthetic,real,synthetic+real,synthetic->real"
        if amount != args.main:
            rows = "synthetic+real"
        out = args.work / f"gap_{amount}"
        simgen("gap", "--train", str(composites), "--real-train", str(parts["train"]),
               "--test", str(parts["test"]), "--out", str(out), "--rows", rows,
               *common)  # fmt: skip
        results[amount] = json.loads((out / "gap.json").read_text())

    main_result = results[args.main]
    classes = main_result["conventions"]["classes"]
    names = {
        "real": "real train only",
        "synthetic": f"composites only ({args.main})",
        "synthetic→real": f"composites ({args.main}) then fine-tuned on real",
    }
    table = []
    for row in main_result["rows"]:
        if row["train"] == "synthetic+real":
            continue
        table.append((names[row["train"]], row))
    for amount in amounts:
        for row in results[amount]["rows"]:
            if row["train"] == "synthetic+real":
                table.append((f"real + composites ({amount})", row))
    order = {"real train only": 0}
    table.sort(key=lambda item: order.get(item[0], 1))

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    header = ["training data", "AP", "AP50", *[f"{c} AP / AP50" for c in classes], "steps"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table:
        per_class = [
            f"{number(row['per_class'][c])} / {number(row['per_class_AP50'][c])}" for c in classes
        ]
        source = next(r for r in results.values() if row in r["rows"])
        steps = source["training"][row["train"]]["steps"]
        cells = [name, number(row["AP"]), number(row["AP50"]), *per_class, str(steps)]
        lines.append("| " + " | ".join(cells) + " |")
    conventions = main_result["conventions"]
    settings = main_result["settings"]
    lines += [
        "",
        f"test: {conventions['test_images']} real images, {conventions['test_instances']} "
        f"instances; {args.minutes} min per row at {settings['input_size']} px, "
        f"{settings['threads']} threads, device {settings['device']}, seed {args.seed}.",
    ]
    summary = {
        "rows": [{"train": name, **row} for name, row in table],
        "conventions": conventions,
        "settings": {**settings, "amounts": amounts, "main": args.main},
    }
    (args.work / "summary.json").write_text(json.dumps(summary, indent=1))
    (args.work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.readme:
        docs = ROOT / "docs/images"
        shutil.copy(
            args.work / f"gap_{args.main}" / "per_class_ap.png", docs / "gap_mt_per_class_ap.png"
        )
        shutil.copy(
            args.work / f"gap_{args.main}" / "predictions.png", docs / "gap_mt_predictions.png"
        )
        print(f"copied the gap pictures to {docs}")


if __name__ == "__main__":
    main()
