#!/usr/bin/env python
"""Benchmark: batch rendering with 1..W workers vs the renderer alone, in the same run.

On the default tabletop scene (shadows, visible masks, amodal labels) it measures:

* renderer-only fps: the dataset's settled scenes rendered again by W processes (for each
  worker count W of the runs, with llvmpipe threads split as for W workers), the shaded pass
  only (the image; depth read only when the dataset stores it), no label passes, no labels,
  no writes: the baseline, measured before and after the runs and averaged (a shared VM's
  speed drifts by 10-20 % between minutes);
* end-to-end labeled images/s of ``render_dataset`` for each run (worker count, physics in the
  worker or in a helper process), both over the whole call (worker start-up included) and in
  steady state (from the first finished image to the last), with the per-stage time per image
  summed over workers (with a physics helper, ``physics`` is the time spent waiting for it);
* pipeline overhead = end-to-end time per image / renderer-only time per image (same number
  of processes) - 1.

The machine's load average is printed before and after: other work on the machine slows
every figure.

With ``--all-passes-baseline`` a second renderer-only baseline is measured the same way, in
which the processes also draw the label pass (instance map and full silhouettes: everything
the GL side of a labeled image needs, nothing computed or written): the overhead against it is
what the rest of the pipeline (physics, labels, encoding, files, orchestration) adds.

Usage: python scripts/bench_batch.py [--num 48] [--runs 1i,1h,2h] [--width 640 --height 480]
       [--png-compression 1] [--set key=value ...] [--all-passes-baseline] [--json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def cpu_seconds() -> float:
    """CPU seconds (user and system) of this process and of every child process it has waited
    for (their own waited-for children included: a worker's physics helpers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def settle_all(config, assets) -> list:
    """The settled scenes of ``config`` (physics once, outside every timed region)."""
    from simgen.physics.world import PhysicsWorld
    from simgen.randomize import sample_scene

    scenes = -(-config.num_images // config.views_per_scene)
    masses = [e.mass for e in config.objects.catalog]
    with PhysicsWorld() as world:
        return [
            world.settle(sample_scene(config, assets, j), assets, masses, config.physics).sample
            for j in range(scenes)
        ]


def prepare(overrides: list[str]) -> tuple:
    """``(config, settled scenes, load average)`` for the default scene with ``overrides``
    (``num_images=N`` first), after a 4-image warm-up run (imports, GL, shader cache)."""
    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.produce.runner import render_dataset

    config = load_config(None, overrides)
    assets = load_catalog(config)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        render_dataset(load_config(None, [*overrides[1:], "num_images=4"]), tmp)
    return config, settle_all(config, assets), load_before


def _render_share(
    config, samples, share: list[tuple[int, int]], barrier, results, labels: bool
) -> None:
    """Worker body: warm up, wait for the others, render ``share`` (scene, view) pairs (the
    label passes too when ``labels``)."""
    from simgen.assets import load_catalog
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer

    assets = load_catalog(config)
    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        renderer.render(samples[0], 0, labels=labels)  # GL context and shaders
        barrier.wait()
        start = time.time()
        for scene, view in share:
            renderer.render(samples[scene], view, depth=config.output.depth, labels=labels)
        results.put((start, time.time()))


def renderer_only(config, samples, workers: int, labels: bool = False) -> tuple[float, int]:
    """Seconds to render every image of ``config`` with the renderer alone (shaded pass only;
    with ``labels`` also the label pass) in ``workers`` processes, each with
    ``LP_NUM_THREADS`` = CPUs / workers as a simgen worker gets, each rendering whole scenes,
    from the moment all have drawn their first view; and the image count."""
    frames, _, images = renderer_only_spans(config, samples, workers, labels)
    return frames, images


def renderer_only_spans(
    config, samples, workers: int, labels: bool = False
) -> tuple[float, float, int]:
    """As :func:`renderer_only`, ``(frames, whole, images)``: ``frames`` from the moment every
    process has drawn its first view (GL context and first shaders ready) to the last frame;
    ``whole`` from before the processes are started (spawn, imports, catalog, GL context,
    first view, as a renderer-only job would pay them once) to the last frame."""
    import multiprocessing

    pairs = [(j, v) for j in range(len(samples)) for v in range(config.views_per_scene)][
        : config.num_images
    ]
    shares = [[p for p in pairs if p[0] % workers == w] for w in range(workers)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    previous = os.environ.get("LP_NUM_THREADS")
    os.environ["LP_NUM_THREADS"] = threads  # inherited by the spawned processes
    try:
        procs = [
            ctx.Process(
                target=_render_share, args=(config, samples, share, barrier, results, labels)
            )
            for share in shares
        ]
        launched = time.time()
        for proc in procs:
            proc.start()
        spans = [results.get() for _ in procs]
        for proc in procs:
            proc.join()
    finally:
        if previous is None:
            os.environ.pop("LP_NUM_THREADS", None)
        else:
            os.environ["LP_NUM_THREADS"] = previous
    last = max(end for _, end in spans)
    return last - min(begin for begin, _ in spans), last - launched, len(pairs)


def end_to_end(config, run: str) -> dict:
    """One ``render_dataset`` run into a fresh folder; ``run`` is the worker count, with an
    ``h`` suffix for physics in a helper process, ``i`` for physics inside the worker."""
    from simgen.produce.runner import render_dataset

    workers = int(run.rstrip("hi"))
    physics_process = {"h": True, "i": False}.get(run[-1])
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = render_dataset(
            config,
            tmp,
            workers=workers,
            physics_process=physics_process,
            progress=lambda done, total: stamps.append(time.perf_counter()),
        )
        seconds = time.perf_counter() - start
    finished = stamps[1:]  # the first call reports the starting point
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else 0.0
    # The last image's lateness against the pace between 10 % and 90 % of the images: time
    # the workers did not all have work near the end.
    low, high = len(finished) // 10, (9 * len(finished)) // 10
    late = None
    if high > low:
        pace = (high - low) / (finished[high] - finished[low])
        late = finished[-1] - (finished[high] + (len(finished) - 1 - high) / pace)
    return {
        "run": run,
        "workers": workers,
        "physics": "helper process"
        if physics_process or (physics_process is None and workers > 1)
        else "in worker",
        "seconds": round(seconds, 2),
        "images_per_s": round(summary.rendered / seconds, 3),
        "steady_images_per_s": round(steady, 3),
        "first_image_after_s": round(finished[0] - start, 2) if finished else None,
        "last_image_late_s": None if late is None else round(late, 2),
        "after_last_image_s": round(start + seconds - finished[-1], 2) if finished else None,
        "stage_ms_per_image": {
            k: round(1000 * v / summary.rendered, 1) for k, v in summary.stage_seconds.items()
        },
        "instances": sum(summary.instances.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=48, help="images per run")
    parser.add_argument(
        "--runs",
        default="1i,1h,2h",
        help="comma-separated runs: worker count + h (physics in a helper process, as "
        "`simgen render` does) or i (physics inside the worker)",
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png-compression", type=int, default=None)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, as `simgen render --set` (e.g. views_per_scene=8)",
    )
    parser.add_argument(
        "--all-passes-baseline",
        action="store_true",
        help="also measure a renderer-only baseline that draws every pass a labeled image needs "
        "(shaded and label passes; no labels computed, no files)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()

    overrides = [
        f"num_images={args.num}",
        f"seed={args.seed}",
        f"image.width={args.width}",
        f"image.height={args.height}",
    ]
    if args.png_compression is not None:
        overrides.append(f"output.png_compression={args.png_compression}")
    overrides.extend(args.overrides)
    config, samples, load_before = prepare(overrides)

    # The baseline is measured before and after the runs and averaged: on a shared VM the
    # renderer's speed drifts by 10-20 % between minutes.
    names = [run.strip() for run in args.runs.split(",")]
    counts = sorted({int(name.rstrip("hi")) for name in names})
    kinds = [False, True] if args.all_passes_baseline else [False]
    before = {(w, k): renderer_only(config, samples, w, k) for w in counts for k in kinds}
    runs = [end_to_end(config, name) for name in names]
    after = {(w, k): renderer_only(config, samples, w, k) for w in counts for k in kinds}
    baseline = {  # ms per image with w renderer processes, mean of before and after
        key: 1000 * (before[key][0] + after[key][0]) / (before[key][1] + after[key][1])
        for key in before
    }
    render_ms = baseline[(1 if 1 in counts else counts[0], False)]
    for run in runs:
        for labels, suffix in [(False, ""), (True, "_all_passes")]:
            same = baseline.get((run["workers"], labels))
            if same is None:
                continue
            run[f"renderer_only{suffix}_fps_same_workers"] = round(1000 / same, 3)
            run[f"overhead_vs_renderer_only{suffix}"] = round(
                1000 / run["images_per_s"] / same - 1, 3
            )
            steady = run["steady_images_per_s"]
            run[f"steady_overhead_vs_renderer_only{suffix}"] = (
                round(1000 / steady / same - 1, 3) if steady else None
            )
    result = {
        "date": datetime.date.today().isoformat(),
        "images": args.num,
        "size": f"{args.width}x{args.height}",
        "png_compression": config.output.png_compression,
        "overrides": args.overrides,
        "views_per_scene": config.views_per_scene,
        "renderer_only_fps": round(1000 / render_ms, 3),
        "renderer_only_ms": round(render_ms, 1),
        "renderer_only_fps_before_after": {
            f"{w}{' all passes' if k else ''}": [
                round(before[(w, k)][1] / before[(w, k)][0], 3),
                round(after[(w, k)][1] / after[(w, k)][0], 3),
            ]
            for w, k in before
        },
        "runs": runs,
        "load_before": load_before,
        "load_after": load_average(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"default tabletop scene, {args.num} images at {result['size']} per run, "
        f"{os.cpu_count()} cores, load {load_before} -> {result['load_after']}"
    )
    for (w, k), (fps_before, fps_after) in zip(
        before, result["renderer_only_fps_before_after"].values(), strict=True
    ):
        what = "shaded and label passes" if k else "shaded pass"
        print(
            f"  renderer-only ({what}), {w} process(es): {1000 / baseline[(w, k)]:6.2f} fps "
            f"(mean of {fps_before:.2f} before and {fps_after:.2f} after the runs)"
        )
    for run in runs:
        print(
            f"  {run['workers']} worker(s), physics {run['physics']}: "
            f"{run['images_per_s']:6.2f} images/s overall, "
            f"{run['steady_images_per_s']:6.2f} steady; overhead vs renderer-only with as many "
            "processes "
            f"{100 * run['overhead_vs_renderer_only']:+.0f}% overall, "
            f"{100 * (run['steady_overhead_vs_renderer_only'] or 0):+.0f}% steady"
        )
        if "overhead_vs_renderer_only_all_passes" in run:
            print(
                "      overhead vs renderer-only drawing all passes: "
                f"{100 * run['overhead_vs_renderer_only_all_passes']:+.0f}% overall, "
                f"{100 * (run['steady_overhead_vs_renderer_only_all_passes'] or 0):+.0f}% steady"
            )
        stages = ", ".join(f"{k} {v}" for k, v in run["stage_ms_per_image"].items())
        print(f"      ms per image (summed over workers): {stages}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
