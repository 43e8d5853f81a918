#!/usr/bin/env python
"""Write simgen's procedural plant meshes: street trees, conifers and hedges (own work, CC0).

The driving asset sources hold no trees, and KITTI's streets are lined with them. Each plant
is built from a seeded generator (the same files on every run): a trunk (an 8-sided cylinder)
under a crown of a few noisy icospheres (round trees, a poplar), stacked cones (conifers) or a
row of blobs (hedges), with sRGB vertex colours: greens varied per vertex, brown bark. Sizes
are real (trees 5-11 m tall, hedges about 1.2-1.6 m); +z is up, a hedge runs along +y.

Writes ``assets/driving/plants/NAME.ply`` and their block of ``assets/index.yaml`` (licence
CC0-1.0, origin this script, sha256), between marker comments.

Usage: python scripts/make_plant_assets.py
"""

from __future__ import annotations

import colorsys
import hashlib
import json
from pathlib import Path

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "driving" / "plants"
INDEX = ROOT / "assets" / "index.yaml"
MARK = "# --- plant meshes (written by scripts/make_plant_assets.py) ---"
END = "# --- end of plant meshes ---"
ABOUT = "8 procedural plants: street trees 5-11 m, conifers, hedges (own work, CC0)"


def _coloured(mesh: trimesh.Trimesh, hsv: tuple[float, float, float], spread: float,
              rng: np.random.Generator) -> trimesh.Trimesh:  # fmt: skip
    """``mesh`` with per-vertex sRGB colours around ``hsv`` (value varied by ``spread``)."""
    h, s, v = hsv
    values = np.clip(v * (1.0 + rng.uniform(-spread, spread, len(mesh.vertices))), 0.0, 1.0)
    hues = (h + rng.uniform(-0.02, 0.02, len(mesh.vertices))) % 1.0
    rgb = np.array(
        [colorsys.hsv_to_rgb(hue, s, val) for hue, val in zip(hues, values, strict=True)]
    )
    rgba = np.column_stack([np.round(rgb * 255), np.full(len(rgb), 255)]).astype(np.uint8)
    mesh.visual.vertex_colors = rgba
    return mesh


def _blob(centre, radii, rng: np.random.Generator) -> trimesh.Trimesh:
    """A noisy ellipsoid: an icosphere scaled to ``radii``, each vertex moved radially by up to
    15 %."""
    sphere = trimesh.creation.icosphere(subdivisions=2)
    bumps = 1.0 + rng.uniform(-0.15, 0.15, len(sphere.vertices))
    vertices = sphere.vertices * bumps[:, None] * np.asarray(radii) + np.asarray(centre)
    return trimesh.Trimesh(vertices, sphere.faces, process=False)


def _trunk(height: float, radius: float, rng: np.random.Generator) -> trimesh.Trimesh:
    trunk = trimesh.creation.cylinder(radius=radius, height=height, sections=8)
    trunk.apply_translation([0.0, 0.0, height / 2])
    bark = (0.08 + rng.uniform(0, 0.03), 0.45, 0.25 + rng.uniform(0, 0.1))
    return _coloured(trunk, bark, 0.15, rng)


def _leaves(rng: np.random.Generator, autumn: bool = False) -> tuple[float, float, float]:
    hue = rng.uniform(0.10, 0.14) if autumn else rng.uniform(0.22, 0.32)
    return hue, rng.uniform(0.45, 0.75), rng.uniform(0.22, 0.42)


def round_tree(seed: int, height: float, autumn: bool = False) -> trimesh.Trimesh:
    """A deciduous street tree: trunk to 40 % of the height, a crown of 3-5 blobs."""
    rng = np.random.default_rng(seed)
    trunk_h = 0.4 * height
    crown_r = 0.3 * height
    parts = [_trunk(trunk_h + 0.3 * crown_r, 0.04 * height, rng)]
    leaves = _leaves(rng, autumn)
    for k in range(int(rng.integers(3, 6))):
        offset = rng.uniform(-0.45, 0.45, 3) * crown_r if k else np.zeros(3)
        centre = np.array([0.0, 0.0, trunk_h + crown_r]) + offset
        centre[2] = min(centre[2], height - 0.6 * crown_r)
        radius = crown_r * rng.uniform(0.55, 0.8)
        parts.append(_coloured(_blob(centre, (radius,) * 3, rng), leaves, 0.3, rng))
    return trimesh.util.concatenate(parts)


def poplar(seed: int, height: float) -> trimesh.Trimesh:
    """A tall narrow crown on a short trunk."""
    rng = np.random.default_rng(seed)
    trunk_h = 0.15 * height
    parts = [_trunk(trunk_h + 0.5, 0.03 * height, rng)]
    radius = 0.12 * height
    centre = (0.0, 0.0, trunk_h + (height - trunk_h) / 2)
    crown = _blob(centre, (radius, radius, (height - trunk_h) / 2), rng)
    parts.append(_coloured(crown, _leaves(rng), 0.3, rng))
    return trimesh.util.concatenate(parts)


def conifer(seed: int, height: float) -> trimesh.Trimesh:
    """Three or four stacked cones on a short trunk."""
    rng = np.random.default_rng(seed)
    trunk_h = 0.12 * height
    parts = [_trunk(trunk_h + 0.5, 0.035 * height, rng)]
    hsv = (rng.uniform(0.3, 0.38), rng.uniform(0.45, 0.7), rng.uniform(0.15, 0.3))
    tiers = int(rng.integers(3, 5))
    span = (height - trunk_h) / tiers
    for k in range(tiers):
        radius = 0.22 * height * (1.0 - 0.7 * k / tiers)
        cone = trimesh.creation.cone(radius=radius, height=1.6 * span, sections=10)
        cone.apply_translation([0.0, 0.0, trunk_h + k * span])
        parts.append(_coloured(cone, hsv, 0.25, rng))
    return trimesh.util.concatenate(parts)


def hedge(seed: int, length: float, height: float) -> trimesh.Trimesh:
    """A row of overlapping blobs along +y resting on z = 0."""
    rng = np.random.default_rng(seed)
    leaves = _leaves(rng)
    count = max(2, round(length / height))
    parts = []
    for k in range(count):
        y = -length / 2 + (k + 0.5) * length / count
        radii = (0.5 * height * rng.uniform(0.8, 1.0), 0.6 * length / count, 0.5 * height)
        parts.append(_coloured(_blob((0.0, y, 0.5 * height), radii, rng), leaves, 0.3, rng))
    mesh = trimesh.util.concatenate(parts)
    mesh.apply_translation([0.0, 0.0, -mesh.bounds[0][2]])
    return mesh


PLANTS = {
    "tree_round_a": lambda: round_tree(1, 7.0),
    "tree_round_b": lambda: round_tree(2, 9.5),
    "tree_round_autumn": lambda: round_tree(3, 6.0, autumn=True),
    "tree_poplar": lambda: poplar(4, 11.0),
    "conifer_a": lambda: conifer(5, 8.0),
    "conifer_b": lambda: conifer(6, 5.0),
    "hedge_a": lambda: hedge(7, 4.0, 1.3),
    "hedge_b": lambda: hedge(8, 6.0, 1.6),
}
"""File name -> builder of each plant."""


def update_index(entries: dict[str, str]) -> None:
    """Write the plants' name and files into ``assets/index.yaml`` between marker comments."""
    lines, inside = [], False
    for line in INDEX.read_text().splitlines():
        if line.strip() == MARK:
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            lines.append(line)
    names = [f"  {MARK}", "  driving/plants:", "    folder: driving/plants",
             f"    about: {json.dumps(ABOUT)}", f"  {END}"]  # fmt: skip
    files = [f"  {MARK}"]
    for rel, digest in sorted(entries.items()):
        files += [f"  {rel}:", "    licence: CC0-1.0",
                  '    origin: "simgen, generated by scripts/make_plant_assets.py (own work)"',
                  f"    sha256: {digest}"]  # fmt: skip
    files.append(f"  {END}")
    at = lines.index("files:")
    INDEX.write_text("\n".join(lines[:at] + names + lines[at:] + files) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, build in PLANTS.items():
        data = build().export(file_type="ply", encoding="binary")
        (OUT / f"{name}.ply").write_bytes(data)
        entries[f"driving/plants/{name}.ply"] = hashlib.sha256(data).hexdigest()
        print(f"driving/plants/{name}.ply", len(data), "bytes")
    update_index(entries)


if __name__ == "__main__":
    main()
