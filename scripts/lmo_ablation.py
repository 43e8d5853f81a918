#!/usr/bin/env python
"""The LM-O recipe, cause by cause: the judge's AP on real photos as each change is added.

Row 0 is the recipe before this work (``scripts/lmo_recipe_before.yaml``: the old
``scenes/lmo.yaml`` with the colour management already in the renderer). Each later row adds
one change to the row above it; the last row must equal ``scenes/lmo.yaml`` (checked before
anything is rendered). Every row runs ``scripts/lmo_gap.py`` (import the 60 dev photos, first 30
the real training pool, last 30 the test set; render ``--num`` images; ``simgen gap`` with the
pretrained judge) into ``WORK/<row>/`` and the table goes to ``WORK/ablation.md``.

Recipe values come from the renders and the real training pool (the first 30 photos: object
depths, objects per photo, brightness), never from the test photos.

Usage: python scripts/lmo_ablation.py [--work out/lmo_ablation] [--rows 0,1,2,3,4,5]
       [--num 800] [--seeds 3] [--last-counts 0,5,10,30] [--lmo DIR] [--backgrounds DIR]
       [--textures DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared/datasets"

Recipe = dict[str, Any]


def own_colours(recipe: Recipe, folders: dict[str, str]) -> None:
    """Targets always keep their scanned vertex colours (colour is their main cue)."""
    recipe["materials"]["keep_original_p"] = 1.0


def no_look_alike(recipe: Recipe, folders: dict[str, str]) -> None:
    """Drop the yellow pybullet duck: a look-alike of LM-O's duck, labeled background."""
    recipe["distractors"]["catalog"] = [
        entry for entry in recipe["distractors"]["catalog"] if "duck" not in entry.get("mesh", "")
    ]


def photos(recipe: Recipe, folders: dict[str, str]) -> None:
    """Real photographs behind the scene, on the table and on the clutter; all targets present
    in most scenes, as in the training pool (6 to 8 of the 8 objects visible per photo)."""
    recipe["background"]["texture"] = {"p": 1.0, "kinds": ["image"], "folder": folders["bg"]}
    recipe["ground"]["texture"] = {"p": 1.0, "kinds": ["image"], "folder": folders["tex"]}
    recipe["materials"]["texture"] = {
        "p": 0.8,
        "kinds": ["image", "noise", "stripes", "checker"],
        "folder": folders["tex"],
        "saturation": [0.0, 0.8],
        "value": [0.1, 0.9],
    }
    recipe["objects"]["count"] = [6, 8]


def light_and_sensor(recipe: Recipe, folders: dict[str, str]) -> None:
    """Soft, mostly ambient, warm light (brightness of renders like the training pool's:
    mean pixel about 80); mild blur and little noise, like the photos' camera."""
    recipe["lights"] = {
        "count": [1, 2],
        "kinds": ["directional", "point"],
        "intensity": [0.6, 2.0],
        "temperature_k": [2800, 5000],
        "ambient": [0.2, 0.45],
        "shadows": True,
    }
    recipe["effects"] = [
        {
            "name": "brightness_contrast",
            "p": 0.5,
            "brightness": [-0.1, 0.1],
            "contrast": [-0.1, 0.1],
        },
        {"name": "motion_blur", "p": 0.5, "kernel_size": [3, 5]},
        {"name": "gauss_noise", "p": 0.3, "std": [0.01, 0.03]},
        {"name": "jpeg", "p": 0.5, "quality": [60, 95]},
    ]


def camera(recipe: Recipe, folders: dict[str, str]) -> None:
    """Camera at the photos' object depths (0.5 to 1.4 m), one view per scene."""
    recipe["camera"]["distance"] = [0.5, 1.4]
    recipe["views_per_scene"] = 1


ROWS: list[tuple[str, Callable[[Recipe, dict[str, str]], None] | None]] = [
    ("before (colour management only)", None),
    ("+ targets keep their own colours", own_colours),
    ("+ no look-alike distractor (duck)", no_look_alike),
    ("+ photo backgrounds, table and clutter textures; 6-8 targets", photos),
    ("+ soft warm light, mild blur, little noise", light_and_sensor),
    ("+ camera 0.5-1.4 m, one view per scene", camera),
]


def recipe_rows(folders: dict[str, str], lmo: Path) -> list[Recipe]:
    """The cumulative recipes, row by row (plain dicts, paths absolute)."""
    recipe = yaml.safe_load((ROOT / "scripts/lmo_recipe_before.yaml").read_text())
    recipe["objects"]["mesh_root"] = str(lmo / "models")
    rows = []
    for _, change in ROWS:
        if change is not None:
            change(recipe, folders)
        rows.append(copy.deepcopy(recipe))
    return rows


def check_last_row(recipe: Recipe, folders: dict[str, str], lmo: Path, work: Path) -> None:
    """The last row must be ``scenes/lmo.yaml`` itself (same validated config)."""
    from simgen.config import load_config

    path = work / "last_row.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    overrides = [
        f"objects.mesh_root={lmo / 'models'}",
        f"background.texture.folder={folders['bg']}",
        f"ground.texture.folder={folders['tex']}",
        f"materials.texture.folder={folders['tex']}",
    ]
    shipped = load_config(ROOT / "scenes/lmo.yaml", overrides).model_dump(mode="json")
    built = load_config(path).model_dump(mode="json")
    if shipped != built:
        diff = [key for key in shipped if shipped[key] != built.get(key)]
        sys.exit(f"lmo_ablation: the last row differs from scenes/lmo.yaml in {', '.join(diff)}")


def table(work: Path, rows: list[int], num: int) -> list[str]:
    lines = [
        "| recipe | images/s (render) | AP | AP50 | AP75 |",
        "|---|---|---|---|---|",
    ]
    for index in rows:
        name = ROWS[index][0]
        gap = work / f"row{index}" / "gap_lite0" / "gap.json"
        if not gap.is_file():
            continue
        result = json.loads(gap.read_text())
        row = next(r for r in result["curve"] if r["real_images"] == 0)
        seconds = work / f"row{index}" / "render_seconds.txt"
        speed = f"{num / float(seconds.read_text()):.2f}" if seconds.is_file() else "-"
        cells = [name, speed]
        cells += [f"{row[m]:.3f} ± {row[m + '_std']:.3f}" for m in ("AP", "AP50", "AP75")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "out/lmo_ablation")
    parser.add_argument("--rows", default=",".join(str(i) for i in range(len(ROWS))))
    parser.add_argument("--num", type=int, default=800)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--last-counts", default="0,5,10,30", help="real counts of the last row")
    parser.add_argument("--lmo", type=Path, default=SHARED / "lmo-dev")
    parser.add_argument("--backgrounds", type=Path, default=SHARED / "backgrounds-dev")
    parser.add_argument("--textures", type=Path, default=SHARED / "textures-dev")
    args = parser.parse_args()
    folders = {"bg": str(args.backgrounds.resolve()), "tex": str(args.textures.resolve())}
    lmo = args.lmo.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    recipes = recipe_rows(folders, lmo)
    check_last_row(recipes[-1], folders, lmo, args.work)
    wanted = [int(i) for i in args.rows.split(",")]
    for index in wanted:
        work = args.work / f"row{index}"
        work.mkdir(parents=True, exist_ok=True)
        scene = work / "scene.yaml"
        scene.write_text(yaml.safe_dump(recipes[index], sort_keys=False))
        counts = args.last_counts if index == len(ROWS) - 1 else "0"
        command = [sys.executable, str(ROOT / "scripts/lmo_gap.py"), "--lmo", str(lmo),
                   "--work", str(work), "--scene", str(scene), "--num", str(args.num),
                   "--counts", counts, "--seeds", str(args.seeds), "--backbones", "lite0",
                   "--reuse"]  # fmt: skip
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True)
        lines = table(args.work, wanted, args.num)
        (args.work / "ablation.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
