#!/usr/bin/env python
"""Benchmark: what each render pass of one view costs, and what shadows cost.

Settles ``--scenes`` scenes of the default tabletop scene, renders every view once to warm
up (scene build, textures, shadow maps, shader variants), then times each view ``--repeats``
times in each mode and prints the median milliseconds per view:

* ``image``: the shaded pass only (what a renderer-only loop does);
* ``image + labels``: the shaded pass and the label pass (instance map and full silhouettes);
* ``labels only``: the label pass (``color=False``);
* the shaded pass with shadows off; with pyrender's loops over uniform light counts instead of
  simgen's constant-length loops (same pixels); and with pyrender's own shader (36-tap shadow
  filter, uniform loops) and scene-wide shadow frusta instead of simgen's, all measured in the
  same run;
* ``first view``: the first render of each scene, which also builds the scene, uploads its
  textures and draws its shadow maps (median over scenes, not warmed up).

Wall time and this process's CPU time (llvmpipe's rasterizer threads included) are printed.

Usage: python scripts/bench_passes.py [--scenes 8] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()

    import numpy as np
    from pyrender.shader_program import ShaderProgramCache

    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.physics.world import PhysicsWorld
    from simgen.randomize import sample_scene
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer

    config = load_config(None, [f"seed={args.seed}"])
    assets = load_catalog(config)
    masses = [e.mass for e in config.objects.catalog]
    with PhysicsWorld() as world:
        samples = [
            world.settle(sample_scene(config, assets, j), assets, masses, config.physics).sample
            for j in range(args.scenes)
        ]
    unshadowed = [dataclasses.replace(s, shadows=False) for s in samples]
    views = range(config.views_per_scene)
    results: dict[str, list[tuple[float, float]]] = {}

    def measure(name, renderer, scenes, **kwargs) -> None:
        for scene in scenes:  # warm-up: build, textures, shadow maps, shader variants
            for v in views:
                renderer.render(scene, v, **kwargs)
        for _ in range(args.repeats):
            for scene in scenes:
                for v in views:
                    span = _timed(lambda s=scene, v=v: renderer.render(s, v, **kwargs))
                    results.setdefault(name, []).append(span)

    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        renderer.render(dataclasses.replace(samples[-1]), 1)  # GL context, shader programs
        first = [
            _timed(lambda s=s: renderer.render(dataclasses.replace(s), 0, depth=False))
            for s in samples
        ]
        measure("image", renderer, samples, depth=False, labels=False)
        measure("image + labels", renderer, samples, depth=False)
        measure("labels only", renderer, samples, color=False)
        measure("image, shadows off", renderer, unshadowed, depth=False, labels=False)
        renderer.constant_light_loops = False
        try:
            measure(
                "image, light loops over uniform counts (pyrender's)",
                renderer,
                samples,
                depth=False,
                labels=False,
            )
        finally:
            renderer.constant_light_loops = True
        import simgen.render.pyrender_egl as backend
        from simgen.render.pyrender_patches import swap_program_cache

        # pyrender's own mesh.frag
        fast_cache = swap_program_cache(renderer._offscreen, ShaderProgramCache())
        fit = backend.fit_shadow_cameras
        backend.fit_shadow_cameras = lambda scene, casters: None  # pyrender's frusta
        try:
            measure(
                "image, pyrender's shadows (36-tap filter, whole-scene frusta)",
                renderer,
                [dataclasses.replace(s) for s in samples],
                depth=False,
                labels=False,
            )
        finally:
            backend.fit_shadow_cameras = fit
            swap_program_cache(renderer._offscreen, fast_cache)
    results["first view of a scene (image + labels)"] = first

    table = {
        name: {
            "wall_ms": round(1000 * float(np.median([w for w, _ in spans])), 1),
            "cpu_ms": round(1000 * float(np.median([c for _, c in spans])), 1),
            "count": len(spans),
        }
        for name, spans in results.items()
    }
    if args.json:
        print(json.dumps(table))
        return
    print(f"default tabletop scene, {args.scenes} scenes x {len(views)} views, median per view")
    for name, row in table.items():
        print(f"  {name:60s} {row['wall_ms']:7.1f} ms wall {row['cpu_ms']:7.1f} ms CPU")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
