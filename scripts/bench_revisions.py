#!/usr/bin/env python
"""Benchmark: the working tree against an older revision, end to end, rounds interleaved.

Each round runs ``simgen render`` once with the revision (from a ``git worktree``, with this
project's virtualenv) and once with the working tree, one after the other, so that both sides
see the same minutes of a VM whose speed drifts. For each run it prints the wall time, the
labeled images/s and the CPU milliseconds per image of the whole command (its own process,
workers and physics helpers: the ``RUSAGE_CHILDREN`` difference), then the medians per side
and their ratios. CPU per image drifts much less than wall time on a shared machine. Both
sides render the same scene file (``--scene``, resolved here: the working tree's copy);
``--set`` applies to both sides, ``--new-set`` to the working tree only (a setting the older
revision does not know, such as one that trades image quality for speed).

Usage: python scripts/bench_revisions.py REV [--scene PATH] [--num 600] [--workers 2]
       [--rounds 3] [--set key=value ...] [--new-set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tree: Path, args: argparse.Namespace, out: Path, extra: list[str]) -> tuple[float, float]:
    """Render once with the code in ``tree`` and the ``extra`` settings; (wall seconds, CPU
    seconds of the command)."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "simgen.cli", "render"]
    if args.scene:
        command.append(str(Path(args.scene).resolve()))
    command += ["--out", str(out), "--num", str(args.num), "--workers", str(args.workers)]
    command += ["--quiet"] + [f"--set={item}" for item in [*args.set, *extra]]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the older revision (a commit, branch or tag)")
    parser.add_argument("--scene", default=None, help="scene file (default: the built-in scene)")
    parser.add_argument("--num", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--new-set", action="append", default=[], metavar="KEY=VALUE", help="working tree only"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="simgen-revs-"))
    tree = work / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), args.rev],
        check=True,
    )
    sides = {args.rev: (tree, []), "working tree": (ROOT, args.new_set)}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    try:
        for round_ in range(1, args.rounds + 1):
            for name, (path, extra) in sides.items():
                wall, cpu = _run(path, args, work / "out", extra)
                runs[name].append((wall, cpu))
                print(
                    f"round {round_} {name:>14}: {wall:7.1f} s, {args.num / wall:6.2f} images/s, "
                    f"{1000 * cpu / args.num:6.1f} CPU ms/image",
                    flush=True,
                )
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )
        shutil.rmtree(work, ignore_errors=True)
    medians = {
        name: (
            statistics.median(args.num / wall for wall, _ in values),
            statistics.median(1000 * cpu / args.num for _, cpu in values),
        )
        for name, values in runs.items()
    }
    for name, (rate, cpu_ms) in medians.items():
        print(f"median {name:>14}: {rate:6.2f} images/s, {cpu_ms:6.1f} CPU ms/image")
    (old_rate, old_cpu), (new_rate, new_cpu) = medians[args.rev], medians["working tree"]
    print(
        f"working tree / {args.rev}: images/s x{new_rate / old_rate:.3f}, "
        f"CPU per image x{new_cpu / old_cpu:.3f}"
    )


if __name__ == "__main__":
    main()
