#!/usr/bin/env python
"""The LM-O recipe, cause by cause: the judge's AP on real photos as each change is added.

Row ``before`` is the recipe before this work (``scripts/lmo_recipe_before.yaml``: the old
``scenes/lmo.yaml`` with the colour management already in the renderer). Each later row adds
one change to the kept rows above it; a row marked ``kept=False`` is measured but its change is
not carried on. The final recipe (every kept change) must equal ``scenes/lmo.yaml`` (checked
before anything is rendered). Every row runs ``scripts/lmo_gap.py`` (import the 60 dev photos,
first 30 the real training pool, last 30 the test set; render ``--num`` images; ``simgen gap``
with the pretrained judge, synthetic only, also scored on the real training pool with
``--val``) into ``WORK/<row>/``; the table goes to ``WORK/ablation.md``.

Choices are made on the real training pool, never on the test photos: recipe values come from
the pool's statistics (object depths, objects per photo, brightness), and a change is kept
unless it lowers the synthetic-only AP on the pool by more than the spread over seeds. The test
columns are reported, not used.

Usage: python scripts/lmo_ablation.py [--work out/lmo_ablation] [--rows before,own_colours,...]
       [--num 800] [--seeds 3] [--steps 500] [--last-counts 0,5,10,30] [--lmo DIR]
       [--backgrounds DIR] [--textures DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from ablation import Recipe, Row  # noqa: E402

SHARED = ROOT.parent / "shared/datasets"


def own_colours(recipe: Recipe, folders: dict[str, str]) -> None:
    """Targets always keep their scanned vertex colours (colour is their main cue)."""
    recipe["materials"]["keep_original_p"] = 1.0


def no_look_alike(recipe: Recipe, folders: dict[str, str]) -> None:
    """Drop the yellow pybullet duck: a look-alike of LM-O's duck, labeled background."""
    recipe["distractors"]["catalog"] = [
        entry for entry in recipe["distractors"]["catalog"] if "duck" not in entry.get("mesh", "")
    ]


def photo_backgrounds(recipe: Recipe, folders: dict[str, str]) -> None:
    """Natural photographs behind the scene instead of procedural patterns."""
    recipe["background"]["texture"] = {"p": 1.0, "kinds": ["image"], "folder": folders["bg"]}


def photo_textures(recipe: Recipe, folders: dict[str, str]) -> None:
    """Texture photographs on the table and, mixed with procedural patterns, on the clutter."""
    recipe["ground"]["texture"] = {"p": 1.0, "kinds": ["image"], "folder": folders["tex"]}
    recipe["materials"]["texture"] = {
        "p": 0.8,
        "kinds": ["image", "noise", "stripes", "checker"],
        "folder": folders["tex"],
        "saturation": [0.0, 0.8],
        "value": [0.1, 0.9],
    }


def all_targets(recipe: Recipe, folders: dict[str, str]) -> None:
    """6 to 8 of the 8 targets per scene, as in the training pool (6-8 visible per photo)."""
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


def upright(recipe: Recipe, folders: dict[str, str]) -> None:
    """Targets start standing on the table (mesh +z up, random yaw), as every object stands in
    the training pool's photos (their +z axes agree with the table normal in each photo); the
    clutter falls around and onto them and knocks some over."""
    recipe["placement"]["upright_p"] = 1.0


def camera_angles(recipe: Recipe, folders: dict[str, str]) -> None:
    """Camera angles of the training pool's photos (from their ground-truth poses: the table
    normal seen at elevations of 7 to 83 degrees, rolled by -48 to 37 degrees)."""
    recipe["camera"]["elevation_deg"] = [10, 85]
    recipe["camera"]["roll_deg"] = [-45, 45]


def clutter_stands(recipe: Recipe, folders: dict[str, str]) -> None:
    """The clutter stands too where there is room (targets first, largest footprints first),
    as the office objects stand around the targets in the photos; the rest falls onto them.
    Dropped from columns onto standing targets, the clutter knocked over most drillers (24 %
    still stood) and half the glue bottles."""
    recipe["placement"]["clutter_upright_p"] = 1.0


def clutter_stands_roomy(recipe: Recipe, folders: dict[str, str]) -> None:
    """As ``clutter_stands``, on a 0.8 m square instead of 0.6 m (room for nearly everything
    to stand: fewer objects lie on top of others)."""
    clutter_stands(recipe, folders)
    recipe["placement"]["area"] = [0.8, 0.8]


def quiet_sensor(recipe: Recipe, folders: dict[str, str]) -> None:
    """No per-pixel sensor noise (Gaussian and ISO noise left out; brightness and contrast,
    motion blur and JPEG kept): the photos show little noise, and a frozen ImageNet backbone
    reads strong per-pixel noise as texture. The wide lighting stays (the "light" row changed
    light and sensor together, so it could not tell them apart)."""
    recipe["effects"] = [
        effect for effect in recipe["effects"] if effect["name"] not in ("gauss_noise", "iso_noise")
    ]


def one_view(recipe: Recipe, folders: dict[str, str]) -> None:
    """One view per scene instead of four: four times as many arrangements for the same number
    of images (the "camera" row changed this and the depths together)."""
    recipe["views_per_scene"] = 1


def more_clutter(recipe: Recipe, folders: dict[str, str]) -> None:
    """15 to 30 distractors instead of 8 to 20: the photos' table is crowded with other
    objects, which hide parts of the targets."""
    recipe["distractors"]["count"] = [15, 30]


def dielectric_targets(recipe: Recipe, folders: dict[str, str]) -> None:
    """The targets (own scanned colours) lit as dielectrics with a drawn gloss: metallic 0 and
    roughness from ``materials.roughness`` (0.2 to 1.0) instead of pyrender's fixed material
    for vertex colours (metallic 0.2, roughness 0.8). LM-O's objects are plastic and ceramic;
    without an environment map a metallic share only darkens their diffuse light."""
    for entry in recipe["objects"]["catalog"]:
        entry["metallic"] = [0.0, 0.0]  # lit kept colours take the shared roughness draw


def held_targets(recipe: Recipe, folders: dict[str, str]) -> None:
    """The targets stay standing (``placement.hold_upright``): held fixed while the clutter
    settles around and on them, their footprints sought largest first. In every pool photo all
    8 objects stand; in the shipped recipe's settled scenes (``scripts/standing.py``, 60 scenes)
    24 % of the drillers, 53 % of the glue bottles and 63 % of the cans did, and those are
    among the classes the judge finds worst."""
    recipe["placement"]["hold_upright"] = True


def single_sample(recipe: Recipe, folders: dict[str, str]) -> None:
    """The shaded pass drawn with one sample per pixel (``image.antialias: false``) instead of
    4x multisampling: jagged edges, the same labels, about a quarter less time per image on
    a CPU. A speed change, kept because it does not lower the pool AP."""
    recipe["image"]["antialias"] = False


def more_views(recipe: Recipe, folders: dict[str, str], count: int) -> None:
    """``count`` camera views of each settled scene instead of four: the settle (about 150 ms a
    scene on a CPU), the scene build and the shadow maps shared by more images. A speed change,
    kept only if it does not lower the pool AP."""
    recipe["views_per_scene"] = count


def simplified_scans(recipe: Recipe, folders: dict[str, str]) -> None:
    """The scanned targets drawn with a quarter of their triangles (``simplify: 0.25``,
    quadric edge collapse, colours averaged): at BOP's poses their boxes match the full
    models' to within 1 px. A speed change, kept only if it does not lower the pool AP."""
    for entry in recipe["objects"]["catalog"]:
        entry["simplify"] = 0.25


def held_dielectric(recipe: Recipe, folders: dict[str, str]) -> None:
    """``held`` and ``dielectric`` together: each alone moved the pool AP by less than its
    spread at 10,000 renders while raising the test AP50 (0.454 to 0.500 and 0.511)."""
    held_targets(recipe, folders)
    dielectric_targets(recipe, folders)


ROWS: list[Row] = [
    Row("before", "before (colour management only)", None),
    Row("own_colours", "+ targets keep their own colours", own_colours),
    Row("no_duck", "+ no look-alike distractor (duck)", no_look_alike),
    # Pool AP 0.110 -> 0.084 (2026-12-04): natural photos behind the scene did not transfer.
    Row("photo_backgrounds", "+ photo backgrounds", photo_backgrounds, kept=False),
    # Pool AP 0.110 -> 0.088 (2026-12-04): texture photos on the table and clutter did not either.
    Row(
        "photo_textures",
        "+ photo textures on the table and clutter",
        photo_textures,
        kept=False,
    ),
    Row("all_targets", "+ 6-8 targets per scene", all_targets),
    # Pool AP 0.106 -> 0.088 (2026-12-04): light and sensor like the photos lowered AP; the wider
    # randomized lighting and effects of the recipe before stay.
    Row("light", "+ soft warm light, mild blur, little noise", light_and_sensor, kept=False),
    # Pool AP 0.106 -> 0.086 (2026-12-04): the photos' depths and one view per scene lowered AP.
    Row("camera", "+ camera 0.5-1.4 m, one view per scene", camera, kept=False),
    # Pool AP 0.106 -> 0.142 (2026-12-05): every object stands in the photos.
    Row("upright", "+ targets start standing, clutter falls around them", upright),
    # Pool AP 0.142 -> 0.155 (2026-12-05): within the spread, so kept by the rule.
    Row("angles", "+ camera elevation 10-85°, roll ±45° (the pool's)", camera_angles),
    # Pool AP 0.155 -> 0.153 (2026-12-05, 800 renders): within the spread, kept by the rule
    # then; at 10,000 renders the recipe with it scored 0.157 on the pool and the recipe
    # without it 0.178 (every seed lower with it; beyond the spread): dropped.
    Row(
        "clutter_stands",
        "+ clutter stands too where there is room",
        clutter_stands,
        kept=False,
    ),
    # Pool AP 0.153 -> 0.129 (2026-12-05): room for all to stand (fewer objects on top) lowered it.
    Row(
        "clutter_roomy",
        "+ clutter stands too, on a 0.8 m square",
        clutter_stands_roomy,
        kept=False,
    ),
    # The next three each added one change to the recipe shipped then (with ``clutter_stands``,
    # pool AP 0.160 when rendered anew beside them, 2026-12-05): none moved the pool AP beyond
    # the spread (0.162, 0.153, 0.155), and a new change is adopted only when it does. Run
    # again, they now add their change to the recipe without ``clutter_stands``.
    Row("quiet_sensor", "+ no per-pixel sensor noise", quiet_sensor, kept=False),
    Row("one_view", "+ one view per scene", one_view, kept=False),
    Row("more_clutter", "+ 15-30 distractors (was 8-20)", more_clutter, kept=False),
    Row("dielectric", "+ targets lit as dielectrics, gloss drawn", dielectric_targets, kept=False),
    Row("held", "+ targets held standing while the clutter settles", held_targets, kept=False),
    Row(
        "held_dielectric",
        "+ targets held standing and lit as dielectrics",
        held_dielectric,
        kept=False,
    ),
    # Pool AP 0.206 -> 0.209 at 10,000 renders and 2,000 steps (2026-12-06): the same within the
    # spread, and the scene renders about a third faster, so kept (issue 22; README
    # "Antialiasing off").
    Row("single_sample", "+ shaded pass single-sampled (no antialiasing)", single_sample),
    # Pool AP 0.209 -> 0.196 (eight views) and 0.188 (six), AP50 0.511 -> 0.477 and 0.478 at
    # 10,000 renders and 2,000 steps (2026-12-06): fewer distinct scenes lowered both, AP50
    # beyond the spread, for 11.5 and 10.6 instead of about 9 labeled images/s; not kept
    # (issue 22; README "Antialiasing off").
    Row("six_views", "+ six views per scene (was 4)", partial(more_views, count=6), kept=False),
    Row("eight_views", "+ eight views per scene (was 4)", partial(more_views, count=8), kept=False),
    # Pool AP 0.209 -> 0.203, AP50 0.511 -> 0.506 at 10,000 renders and 2,000 steps (2026-12-06):
    # within the spread, for about 13 instead of about 10 labeled images/s, so kept (issue 22;
    # docs/benchmarks.md "Simplified scans").
    Row("simplified", "+ scans drawn with a quarter of their triangles", simplified_scans),
]


def recipe_rows(folders: dict[str, str], lmo: Path) -> tuple[list[Recipe], Recipe]:
    """Each row's recipe (the kept changes above it plus its own), and the final recipe (all
    kept changes): plain dicts, paths absolute."""
    recipe = yaml.safe_load((ROOT / "scripts/lmo_recipe_before.yaml").read_text())
    recipe["objects"]["mesh_root"] = str(lmo / "models")
    rows = []
    for row in ROWS:
        trial = copy.deepcopy(recipe)
        if row.change is not None:
            row.change(trial, folders)
        rows.append(trial)
        if row.kept:
            recipe = trial
    return rows, recipe


def check_last_row(recipe: Recipe, folders: dict[str, str], lmo: Path, work: Path) -> None:
    """The final recipe (every kept change) must be ``scenes/lmo.yaml`` itself (same validated
    config)."""
    from simgen.config import load_config

    path = work / "last_row.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    overrides = [
        f"objects.mesh_root={lmo / 'models'}",
    ]
    shipped = load_config(ROOT / "scenes/lmo.yaml", overrides).model_dump(mode="json")
    built = load_config(path).model_dump(mode="json")
    if shipped != built:
        diff = [key for key in shipped if shipped[key] != built.get(key)]
        sys.exit(
            f"lmo_ablation: the final recipe differs from scenes/lmo.yaml in {', '.join(diff)}"
        )


def synthetic_row(path: Path) -> dict | None:
    """The synthetic-only row of a ``gap.json``, or ``None`` when it is not there yet."""
    if not path.is_file():
        return None
    return next(r for r in json.loads(path.read_text())["curve"] if r["real_images"] == 0)


def _cell(result: dict | None, metric: str) -> str:
    if result is None or metric not in result:
        return "-"
    return f"{result[metric]:.3f} ± {result[metric + '_std']:.3f}"


def table(work: Path) -> list[str]:
    """Markdown rows: synthetic-only AP on the real training pool (where choices are made) and on
    the test photos, for every finished row (mean ± spread over seeds).

    The pool scores come from the same models (``simgen gap --val``), or from a separate run
    scored on the pool (``gap_lite0_pool/``) where one was made. Render speed is not in this
    table (these runs share the machine with training): ``scripts/bench_render.py --scene``.
    """
    lines = [
        "| recipe | kept | AP (pool) | AP50 (pool) | AP (test) | AP50 (test) | AP75 (test) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        test = synthetic_row(work / row.slug / "gap_lite0" / "gap.json")
        pool = synthetic_row(work / row.slug / "gap_lite0_pool" / "gap.json")
        if pool is None and test is not None and "val_AP" in test:
            pool = {key.removeprefix("val_"): value for key, value in test.items()}
        if pool is None and test is None:
            continue
        cells = [row.name, "yes" if row.kept else "no"]
        cells += [_cell(pool, "AP"), _cell(pool, "AP50")]
        cells += [_cell(test, m) for m in ("AP", "AP50", "AP75")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "out/lmo_ablation")
    parser.add_argument("--rows", default=",".join(row.slug for row in ROWS))
    parser.add_argument("--num", type=int, default=800)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument(
        "--last-counts", default="0,5,10,30", help="real counts of the last row (when kept)"
    )
    parser.add_argument("--lmo", type=Path, default=SHARED / "lmo-dev")
    parser.add_argument("--backgrounds", type=Path, default=SHARED / "backgrounds-dev")
    parser.add_argument("--textures", type=Path, default=SHARED / "textures-dev")
    args = parser.parse_args()
    folders = {"bg": str(args.backgrounds.resolve()), "tex": str(args.textures.resolve())}
    lmo = args.lmo.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    recipes, final = recipe_rows(folders, lmo)
    check_last_row(final, folders, lmo, args.work)
    slugs = [row.slug for row in ROWS]
    for slug in args.rows.split(","):
        if slug not in slugs:
            sys.exit(f"lmo_ablation: unknown row {slug} (rows: {', '.join(slugs)})")
        index = slugs.index(slug)
        work = args.work / slug
        work.mkdir(parents=True, exist_ok=True)
        scene = work / "scene.yaml"
        scene.write_text(yaml.safe_dump(recipes[index], sort_keys=False))
        last = index == len(ROWS) - 1 and ROWS[index].kept
        counts = args.last_counts if last else "0"
        gap_script = [sys.executable, str(ROOT / "scripts/lmo_gap.py"), "--lmo", str(lmo),
                      "--work", str(work), "--scene", str(scene), "--num", str(args.num),
                      "--counts", counts, "--seeds", str(args.seeds), "--backbones", "lite0",
                      "--steps", str(args.steps), "--reuse"]  # fmt: skip
        run([*gap_script, "--val-pool"])
        lines = table(args.work)
        (args.work / "ablation.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines), flush=True)


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
