#!/usr/bin/env python
"""Benchmark: simgen end-to-end vs Blender Cycles at 32 samples per pixel, same scene, same run.

BlenderProc and Kubric render with Blender Cycles. This script renders simgen's own default
tabletop scene (scene 0 after physics: the same meshes, poses, colours, lights and camera
views) with Cycles on the CPU, timing each frame, then times simgen's end-to-end pipeline
(labels and files included) on the same machine, and prints the ratio.

Blender is GPL-3.0 and needs numpy<2, so it is never a dependency of simgen: the script makes
a virtualenv of its own (default ``.bench/blender-venv``, ignored by git), installs
``bpy==4.5.15`` and ``numpy<2`` into it, and drives Blender there as a subprocess.

The Cycles frame is RGB only (no masks or labels); simgen's image includes its labels. Light
intensities are converted approximately (a sun's strength and a lamp's power from pyrender's
units); they change the picture, not Cycles' time per sample much.

Usage: python scripts/bench_blender.py [--frames 4] [--samples 32] [--threads 2]
       [--width 640 --height 480] [--simgen-num 32] [--denoise] [--venv .bench/blender-venv]
       [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

ROOT = Path(__file__).resolve().parents[1]
BPY = "bpy==4.5.15"

BLENDER_SCRIPT = r"""
import json, math, sys, time
import bpy
from mathutils import Matrix

scene_file, out_dir, samples, threads, denoise = sys.argv[1:6]
data = json.load(open(scene_file))
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = int(samples)
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = denoise == "1"
scene.render.threads_mode = "FIXED"
scene.render.threads = int(threads)
scene.render.resolution_x = data["width"]
scene.render.resolution_y = data["height"]
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"

world = bpy.data.worlds.new("world")
world.use_nodes = True
background = world.node_tree.nodes["Background"]
background.inputs["Color"].default_value = (*data["background_color"], 1.0)
background.inputs["Strength"].default_value = data["ambient"]
scene.world = world


def material(name, color, metallic, roughness):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = tuple(color)
    bsdf.inputs["Metallic"].default_value = metallic
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def add_mesh(name, vertices, faces, matrix, mat, smooth):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices, [], faces)
    mesh.update()
    for polygon in mesh.polygons:
        polygon.use_smooth = smooth
    obj = bpy.data.objects.new(name, mesh)
    obj.matrix_world = Matrix(matrix)
    obj.data.materials.append(mat)
    scene.collection.objects.link(obj)


meshes = {int(k): v for k, v in data["meshes"].items()}
for i, item in enumerate(data["objects"]):
    mesh = meshes[item["catalog_index"]]
    mat = material(f"m{i}", item["color"], item["metallic"], item["roughness"])
    add_mesh(f"o{i}", mesh["vertices"], mesh["faces"], item["matrix"], mat, mesh["smooth"])
size = data["ground_size"]
half = size / 2
ground_vertices = [
    (x, y, z) for z in (-0.1, 0.0) for y in (-half, half) for x in (-half, half)
]
ground_faces = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
identity = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
add_mesh("ground", ground_vertices, ground_faces, identity,
         material("ground", data["ground_color"], 0.0, 0.8), False)

for i, item in enumerate(data["lights"]):
    kind = {"directional": "SUN", "point": "POINT", "spot": "SPOT"}[item["kind"]]
    light = bpy.data.lights.new(f"l{i}", kind)
    light.color = tuple(item["color"])
    if kind == "SUN":
        light.energy = 3.0 * item["intensity"]
    else:
        light.energy = 4 * math.pi * 3.0 * item["intensity"]
    if kind == "SPOT":
        light.spot_size = math.pi / 2
        light.spot_blend = 0.5
    obj = bpy.data.objects.new(f"l{i}", light)
    obj.matrix_world = Matrix(item["pose"])
    scene.collection.objects.link(obj)

camera_data = bpy.data.cameras.new("camera")
camera = bpy.data.objects.new("camera", camera_data)
scene.collection.objects.link(camera)
scene.camera = camera
for i, view in enumerate(data["views"]):
    K, width = view["K"], data["width"]
    camera_data.sensor_fit = "HORIZONTAL"
    camera_data.sensor_width = 36.0
    camera_data.lens = K[0][0] * 36.0 / width
    camera_data.shift_x = -(K[0][2] - (width - 1) / 2) / width
    camera_data.shift_y = (K[1][2] - (data["height"] - 1) / 2) / width
    camera_data.clip_start = 0.01
    camera_data.clip_end = 50.0
    camera.matrix_world = Matrix(view["blender_pose"])
    scene.render.filepath = f"{out_dir}/cycles_{i:02d}.png"
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    print("FRAME " + json.dumps({"frame": i, "seconds": time.perf_counter() - start}), flush=True)
"""


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def ensure_venv(venv: Path) -> tuple[Path, float | None]:
    """The venv's python, creating the venv and installing bpy when missing."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import bpy"]
    if python.is_file() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python, None
    start = time.perf_counter()
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", BPY, "numpy<2"],
        check=True,
    )
    return python, time.perf_counter() - start


def export_scene(width: int, height: int, frames: int, seed: int) -> dict:
    """Scene 0 of the default config after physics, as plain data for the Blender script."""
    import numpy as np

    from simgen.assets import catalog_entries, load_catalog
    from simgen.config import load_config
    from simgen.physics.world import PhysicsWorld
    from simgen.randomize import sample_scene

    config = load_config(None, [f"image.width={width}", f"image.height={height}", f"seed={seed}"])
    assets = load_catalog(config)
    masses = [entry.mass for _, entry in catalog_entries(config)]
    with PhysicsWorld() as world:
        sample = world.settle(sample_scene(config, assets, 0), assets, masses, config.physics)
    sample = sample.sample
    flip = np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV camera axes -> Blender's
    used = sorted({obj.catalog_index for obj in sample.objects})
    grey = (0.6, 0.6, 0.6, 1.0)
    return {
        "width": width,
        "height": height,
        "background_color": list(sample.background_color),
        "ambient": sample.ambient,
        "ground_size": sample.ground_size,
        "ground_color": list(sample.ground_color),
        "meshes": {
            str(i): {
                "vertices": assets[i].vertices.tolist(),
                "faces": assets[i].faces.tolist(),
                "smooth": assets[i].primitive not in ("box", "cylinder", "cone"),
            }
            for i in used
        },
        "objects": [
            {
                "catalog_index": obj.catalog_index,
                "matrix": (obj.pose @ np.diag([obj.scale, obj.scale, obj.scale, 1.0])).tolist(),
                "color": list(obj.color or grey),
                "metallic": obj.metallic,
                "roughness": obj.roughness,
            }
            for obj in sample.objects
        ],
        "lights": [
            {
                "kind": light.kind,
                "color": list(light.color),
                "intensity": light.intensity,
                "pose": light.pose.tolist(),
            }
            for light in sample.lights
        ],
        "views": [
            {"K": view.K.tolist(), "blender_pose": (view.pose @ flip).tolist()}
            for view in sample.views[:frames]
        ],
        "triangles": int(sum(len(assets[o.catalog_index].faces) for o in sample.objects)),
    }


def simgen_images_per_second(width: int, height: int, num: int, seed: int) -> float:
    """simgen's end-to-end labeled images/s as ``simgen render`` runs by default (one worker
    in this process, physics in a helper process), after a warm-up."""
    from simgen.config import load_config
    from simgen.produce.runner import render_dataset

    overrides = [f"image.width={width}", f"image.height={height}", f"seed={seed}"]
    with tempfile.TemporaryDirectory() as tmp:
        render_dataset(load_config(None, [*overrides, "num_images=4"]), tmp)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        config = load_config(None, [*overrides, f"num_images={num}"])
        summary = render_dataset(config, tmp, physics_process=True)
        return summary.rendered / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="camera views Cycles renders")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--simgen-num", type=int, default=32)
    parser.add_argument("--denoise", action="store_true", help="Cycles' denoiser on")
    parser.add_argument("--venv", type=Path, default=ROOT / ".bench" / "blender-venv")
    parser.add_argument("--keep", type=Path, default=None, help="keep Cycles' frames here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    python, install_seconds = ensure_venv(args.venv)
    load_before = load_average()
    data = export_scene(args.width, args.height, args.frames, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        scene_file = Path(tmp) / "scene.json"
        scene_file.write_text(json.dumps(data))
        script = Path(tmp) / "render_cycles.py"
        script.write_text(BLENDER_SCRIPT)
        command = [
            str(python),
            str(script),
            str(scene_file),
            str(out_dir),
            str(args.samples),
            str(args.threads),
            "1" if args.denoise else "0",
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        blender_wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"Blender failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    frames = [
        json.loads(line.removeprefix("FRAME "))["seconds"]
        for line in done.stdout.splitlines()
        if line.startswith("FRAME ")
    ]
    later = frames[1:] or frames
    cycles_seconds = sum(later) / len(later)
    simgen_ips = simgen_images_per_second(args.width, args.height, args.simgen_num, args.seed)
    result = {
        "date": datetime.date.today().isoformat(),
        "size": f"{args.width}x{args.height}",
        "samples": args.samples,
        "threads": args.threads,
        "denoise": args.denoise,
        "triangles": data["triangles"],
        "lights": len(data["lights"]),
        "cycles_first_frame_s": round(frames[0], 2),
        "cycles_seconds_per_frame": round(cycles_seconds, 2),
        "cycles_frames": len(frames),
        "blender_process_wall_s": round(blender_wall, 1),
        "simgen_end_to_end_images_per_s": round(simgen_ips, 3),
        "simgen_seconds_per_image": round(1 / simgen_ips, 3),
        "speedup_simgen_over_cycles": round(cycles_seconds * simgen_ips, 1),
        "bpy_install_seconds": None if install_seconds is None else round(install_seconds, 1),
        "load_before": load_before,
        "load_after": load_average(),
    }
    if not args.json:
        print(
            f"scene 0 of the default tabletop scene at {result['size']}: {data['triangles']} "
            f"triangles, {len(data['lights'])} lights; load {load_before} -> "
            f"{result['load_after']}"
        )
        print(
            f"  Blender Cycles ({BPY}, CPU, {args.samples} spp, {args.threads} threads, denoise "
            f"{'on' if args.denoise else 'off'}): first frame {frames[0]:.1f} s, then "
            f"{cycles_seconds:.2f} s per frame (RGB only)"
        )
        print(
            f"  simgen end-to-end (labels and files included): {simgen_ips:.2f} images/s "
            f"= {1 / simgen_ips:.3f} s per image"
        )
        print(f"  simgen is {result['speedup_simgen_over_cycles']}x faster per image")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
