"""How many objects of each category stand after the physics settles a scene (no rendering).

For each of ``--scenes`` scenes: sample it, settle it with the scene's physics, and count, per
category (distractors together as ``clutter``), the objects that start standing (their mesh's +z
axis within 8 degrees of the world's) and those that still stand within about 25 degrees after
settling. Tabletop photos show their objects standing; a recipe that lays them down teaches a
detector other views (docs/benchmarks.md, LM-O recipe ablation).

Usage: python scripts/standing.py SCENE [--scenes 60] [--set KEY=VALUE ...]
e.g.   python scripts/standing.py scenes/lmo.yaml --set placement.clutter_upright_p=0
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

START_COS = 0.99
"""cos of the angle between an object's +z and the world's below which it does not start
standing (8.1 degrees)."""

END_COS = 0.9
"""The same after settling (25.8 degrees: a standing object tilted by a neighbour still counts)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path)
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.produce.physics_helper import InlinePhysics
    from simgen.randomize.scene import sample_scene

    config = load_config(args.scene, args.overrides)
    assets = load_catalog(config, source=args.scene)
    physics = InlinePhysics(config, assets)
    start: dict[str, list[bool]] = defaultdict(list)
    end: dict[str, list[bool]] = defaultdict(list)
    for index in range(args.scenes):
        sample = sample_scene(config, assets, index)
        physics.submit(sample)
        settled = physics.result().sample
        for before, after in zip(sample.objects, settled.objects, strict=True):
            name = after.category if after.labeled else "clutter"
            start[name].append(bool(before.pose[2, 2] > START_COS))
            end[name].append(bool(after.pose[2, 2] > END_COS))
    print(f"{args.scene}, {args.scenes} scenes, overrides {args.overrides or 'none'}")
    print("| category | objects | start standing | stand after settling |")
    print("|---|---|---|---|")
    for name in sorted(start):
        count = len(start[name])
        print(f"| {name} | {count} | {np.mean(start[name]):.0%} | {np.mean(end[name]):.0%} |")


if __name__ == "__main__":
    main()
