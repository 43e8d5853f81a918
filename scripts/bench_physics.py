#!/usr/bin/env python
"""Benchmark: settling a scene's drops with pybullet, per scene.

Samples ``--scenes`` scenes of the default tabletop scene (or ``--scene FILE``; seed 0, or
``--set`` overrides) and settles them one after the other in one pybullet client, printing
milliseconds per scene (wall and CPU), the mean and largest step counts and how many scenes
hit ``physics.max_steps``.
Collision hulls are simplified before the timed region. ``--max-hull-vertices N`` changes
the hull bound ``MAX_HULL_VERTICES`` (a large N keeps every vertex of the convex hull).

Usage: python scripts/bench_physics.py [--scene scenes/lmo.yaml] [--scenes 24]
       [--set physics.rolling_friction=0.001] [--max-hull-vertices 100000]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default=None, help="scene file (default: the built-in scene)")
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--max-hull-vertices", type=int, default=None)
    args = parser.parse_args()

    import simgen.assets
    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.physics.world import PhysicsWorld
    from simgen.produce.physics_helper import catalog_masses
    from simgen.randomize import sample_scene

    config = load_config(args.scene, ["seed=0", *args.overrides])
    if args.max_hull_vertices is not None:
        # Asset.hull_vertices reads the name simgen.assets imported from collision
        simgen.assets.MAX_HULL_VERTICES = args.max_hull_vertices
    assets = load_catalog(config)
    for asset in assets:
        asset.hull_vertices  # noqa: B018 - simplify outside the timed region
    masses = catalog_masses(config)  # distractors' entries too
    samples = [sample_scene(config, assets, j) for j in range(args.scenes)]
    with PhysicsWorld() as world:
        wall, cpu = time.perf_counter(), time.process_time()
        results = [world.settle(s, assets, masses, config.physics) for s in samples]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps = [r.steps for r in results]
    summary = {
        "scenes": args.scenes,
        "overrides": args.overrides,
        "max_hull_vertices": simgen.assets.MAX_HULL_VERTICES,
        "ms_per_scene_wall": round(1000 * wall / args.scenes, 1),
        "ms_per_scene_cpu": round(1000 * cpu / args.scenes, 1),
        "mean_steps": round(sum(steps) / len(steps), 1),
        "max_steps": max(steps),
        "not_at_rest": sum(not r.at_rest for r in results),
    }
    print(
        f"{args.scenes} scenes {' '.join(args.overrides)} (hulls of at most "
        f"{summary['max_hull_vertices']} vertices): {summary['ms_per_scene_wall']} ms per "
        f"scene ({summary['ms_per_scene_cpu']} CPU), {summary['mean_steps']} steps on average, "
        f"max {summary['max_steps']}, {summary['not_at_rest']} not at rest"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
