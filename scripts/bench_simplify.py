#!/usr/bin/env python
"""Benchmark: what simplified scans (``simplify``) change in LM-O's labels, and what they save.

1. Agreement. The LM-O development photos are imported with ``simgen import-bop`` (BOP's
   poses, exact labels) once with the full models and once per ``--fractions`` value with the
   models simplified as a catalog entry's ``simplify`` does (:func:`simgen.simplify.simplify_mesh`).
   Printed per fraction: triangles kept, the amodal boxes against BOP's ``bbox_obj`` (median
   and 10th-percentile IoU, as tests/test_import_bop.py checks the full models), the share of
   amodal and visible boxes identical to the full models', the largest shift of a box side in
   pixels, and the visible masks' IoU against the full models' (median, minimum).
2. Speed (``--num N``, optional). ``simgen render scenes/lmo.yaml --num N --workers W`` with
   the scans as shipped (``simplify: 0.25``) and with ``simplify=null`` on every target,
   alternating ``--rounds`` times, printing labeled images/s and CPU seconds per image (the
   command's process tree; the wall time of the whole command, start-up included) and the
   median ratio over the rounds.

Needs ``shared/datasets/lmo-dev`` beside the repository (research-only data: referred to by
path, never copied).

Usage: python scripts/bench_simplify.py [--fractions 0.5,0.25,0.15] [--num 1000]
       [--rounds 2] [--workers 2] [--lmo ../shared/datasets/lmo-dev]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def simplified_models(models: Path, fraction: float, out: Path) -> Path:
    """Write ``models``' PLYs simplified to ``fraction`` into ``out``; return ``out``."""
    import trimesh

    from simgen.assets import load_mesh_file
    from simgen.simplify import simplify_mesh

    out.mkdir(parents=True)
    shutil.copy(models / "models_info.json", out)
    for path in sorted(models.glob("obj_*.ply")):
        # as a catalog entry with units: mm loads it: in metres, then simplified
        mesh = simplify_mesh(load_mesh_file(path, units="mm"), fraction)
        mesh.apply_scale(1000.0)  # back to the millimetres BOP's models are in
        (out / path.name).write_bytes(trimesh.exchange.ply.export_ply(mesh))
    return out


def triangles(models: Path) -> int:
    """Triangles of every model in a BOP models folder."""
    import trimesh

    return sum(len(trimesh.load(p, process=False).faces) for p in models.glob("obj_*.ply"))


def agreement(lmo: Path, fractions: list[float], work: Path) -> list[dict]:
    """One row per fraction (1.0 = the full models): see the module docstring."""
    import numpy as np
    from pycocotools import mask as mask_utils

    from simgen.formats.bop_import import bop_box_to_coco, import_bop

    info = json.loads((lmo / "test" / "000002" / "scene_gt_info.json").read_text())
    imported = {}
    for fraction in [1.0, *fractions]:
        models = lmo / "models"
        if fraction < 1.0:
            models = simplified_models(models, fraction, work / f"models_{fraction}")
        faces = triangles(models)
        summary = import_bop(lmo / "test", models, work / f"import_{fraction}")
        coco = json.loads(summary["annotations"].read_text())
        ids = {image["id"]: image["bop_im_id"] for image in coco["images"]}
        imported[fraction] = (
            faces,
            {(ids[a["image_id"]], a["bop_gt_index"]): a for a in coco["annotations"]},
        )
    full_faces, full = imported[1.0]
    sizes = {i["bop_im_id"]: (i["width"], i["height"]) for i in coco["images"]}  # same photos
    rows = []
    for fraction, (faces, anns) in imported.items():
        to_bop = [
            float(
                mask_utils.iou(
                    [a["bbox_amodal"]],
                    [bop_box_to_coco(info[str(im)][k]["bbox_obj"], *sizes[im])],
                    [0],
                )[0][0]
            )
            for (im, k), a in anns.items()
            if info[str(im)][k]["bbox_obj"][2] >= 0
        ]
        shared = [key for key in anns if key in full]
        shifts = [
            int(np.abs(np.subtract(anns[key][box], full[key][box])).max())
            for key in shared
            for box in ("bbox", "bbox_amodal")
        ]
        masks = [
            float(
                mask_utils.iou([anns[key]["segmentation"]], [full[key]["segmentation"]], [0])[0][0]
            )
            for key in shared
        ]
        rows.append(
            {
                "fraction": fraction,
                "triangles": faces,
                "of_full": round(faces / full_faces, 3),
                "instances": len(anns),
                "amodal_vs_bbox_obj_median": round(float(np.median(to_bop)), 4),
                "amodal_vs_bbox_obj_p10": round(float(np.percentile(to_bop, 10)), 4),
                "amodal_same": round(
                    float(
                        np.mean([anns[k]["bbox_amodal"] == full[k]["bbox_amodal"] for k in shared])
                    ),
                    3,
                ),
                "visible_same": round(
                    float(np.mean([anns[k]["bbox"] == full[k]["bbox"] for k in shared])), 3
                ),
                "largest_shift_px": max(shifts),
                "mask_iou_median": round(float(np.median(masks)), 4),
                "mask_iou_min": round(float(np.min(masks)), 4),
            }
        )
    return rows


def render_once(out: Path, num: int, workers: int, full: bool) -> tuple[float, float]:
    """Labeled images/s and CPU seconds per image of one ``simgen render scenes/lmo.yaml``."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "simgen.cli", "render", str(ROOT / "scenes" / "lmo.yaml")]
    command += ["--out", str(out), "--num", str(num), "--workers", str(workers)]
    if full:
        command += [
            arg for i in range(8) for arg in ("--set", f"objects.catalog.{i}.simplify=null")
        ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return num / wall, cpu / num


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmo", type=Path, default=ROOT.parent / "shared" / "datasets" / "lmo-dev")
    parser.add_argument("--fractions", default="0.5,0.25,0.15")
    parser.add_argument(
        "--num", type=int, default=0, help="images per speed run (0: no speed runs)"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (args.lmo / "models").is_dir():
        sys.exit(f"bench_simplify: no LM-O models under {args.lmo} (--lmo)")

    import numpy as np

    with tempfile.TemporaryDirectory(prefix="bench_simplify_") as tmp:
        work = Path(tmp)
        fractions = [float(f) for f in args.fractions.split(",") if f]
        rows = agreement(args.lmo, fractions, work)
        print("LM-O development photos at BOP's poses, full models against simplified ones")
        for row in rows:
            print(
                f"  simplify {row['fraction']:<4} {row['triangles']:7d} triangles "
                f"({row['of_full']:.2f}): "
                f"amodal vs bbox_obj IoU median {row['amodal_vs_bbox_obj_median']:.4f} "
                f"p10 {row['amodal_vs_bbox_obj_p10']:.4f}; boxes as the full models' "
                f"{row['amodal_same']:.3f} amodal / {row['visible_same']:.3f} visible, largest "
                f"shift {row['largest_shift_px']} px; visible mask IoU median "
                f"{row['mask_iou_median']:.4f}, min {row['mask_iou_min']:.4f}"
            )
        print(json.dumps({"agreement": rows}))
        if args.num <= 0:
            return
        speed: dict[str, list[tuple[float, float]]] = {"full": [], "simplified": []}
        for _ in range(args.rounds):
            for name in ("full", "simplified"):
                speed[name].append(render_once(work / name, args.num, args.workers, name == "full"))
        print(f"scenes/lmo.yaml, {args.num} images, {args.workers} workers, rounds alternating")
        for name, runs in speed.items():
            rates = ", ".join(f"{r:.2f}" for r, _ in runs)
            cpus = ", ".join(f"{1000 * c:.1f}" for _, c in runs)
            print(f"  {name:10s} images/s {rates}; CPU ms per image {cpus}")
        ratio = np.median(
            [s[0] / f[0] for f, s in zip(speed["full"], speed["simplified"], strict=True)]
        )
        cpu = np.median(
            [s[1] / f[1] for f, s in zip(speed["full"], speed["simplified"], strict=True)]
        )
        print(f"  median ratio simplified/full: images/s x{ratio:.3f}, CPU x{cpu:.3f}")
        print(json.dumps({"speed": speed}))


if __name__ == "__main__":
    main()
