#!/usr/bin/env python
"""Render every driving mesh of the asset library (``assets/driving``) on one contact sheet.

Each mesh is drawn by simgen's renderer in its own colours, from the front left (its heading,
+x, points to the lower right of its tile), so a wrong heading or size shows at a glance.

Usage: python scripts/make_driving_assets_sheet.py [--out docs/images/driving_assets.png]
       [--tile 200]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2
import numpy as np

from simgen.assets import load_entry
from simgen.config import MeshSource
from simgen.geometry import OPENGL_FROM_OPENCV, look_at
from simgen.library import library_root, read_library
from simgen.render.pyrender_egl import PyrenderRenderer
from simgen.scene import CameraView, Light, ObjectInstance, SceneSample

ROOT = Path(__file__).resolve().parents[1]


def tile_sample(asset_extents: np.ndarray, tile: int) -> SceneSample:
    """One object (catalog 0) at the origin, its own colours, a camera from the front left."""
    radius = float(np.linalg.norm(asset_extents)) / 2.0
    focal = tile * 1.1
    distance = radius * focal / (tile * 0.45)
    direction = np.array([0.8, -0.55, 0.35])
    eye = direction / np.linalg.norm(direction) * distance
    K = np.array([[focal, 0.0, (tile - 1) / 2], [0.0, focal, (tile - 1) / 2], [0.0, 0.0, 1.0]])
    view = CameraView(width=tile, height=tile, K=K, pose=look_at(eye, np.zeros(3)),
                      zfar=distance * 4)  # fmt: skip
    light_pose = look_at(np.array([3.0, -2.0, 5.0]), np.zeros(3)) @ OPENGL_FROM_OPENCV
    obj = ObjectInstance(instance_id=1, catalog_index=0, category="mesh", scale=1.0,
                         color=None, metallic=0.0, roughness=0.8, pose=np.eye(4))  # fmt: skip
    return SceneSample(
        scene_index=0,
        seed=0,
        objects=(obj,),
        lights=(Light(kind="directional", color=(1.0, 1.0, 1.0), intensity=3.0, pose=light_pose),),
        views=(view,),
        ground_size=0.0,
        ground_color=(0.6, 0.6, 0.6, 1.0),
        background_color=(0.93, 0.93, 0.93),
        ambient=0.45,
        shadows=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/driving_assets.png")
    parser.add_argument("--tile", type=int, default=200)
    parser.add_argument("--columns", type=int, default=8)
    args = parser.parse_args()
    library = read_library(library_root())
    files = sorted(p for p in library.files if p.startswith("driving/") and p.endswith(".ply"))
    tiles = []
    for rel in files:
        asset = load_entry(MeshSource(mesh=f"assets:{rel}"))
        sample = tile_sample(asset.extents, args.tile)
        with PyrenderRenderer([asset]) as renderer:
            rgb = renderer.render(sample, 0, depth=False, labels=False).rgb
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        length, width, height = asset.extents
        label = f"{Path(rel).stem} {length:.1f}x{width:.1f}x{height:.1f}"
        cv2.putText(image, label, (4, args.tile - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (30, 30, 30), 1, cv2.LINE_AA)  # fmt: skip
        tiles.append(image)
    columns = args.columns
    blank = np.full_like(tiles[0], 255)
    while len(tiles) % columns:
        tiles.append(blank)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.vstack(rows))
    print(f"wrote {args.out} ({len(files)} meshes)")


if __name__ == "__main__":
    main()
