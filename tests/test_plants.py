"""simgen's procedural plants (``assets:driving/plants``) are what their script builds."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_plant_assets.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_plant_assets", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLANTS = _script().PLANTS


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_each_shipped_plant_is_its_builders_output(name):
    """Byte-equal to a fresh build (its sha256 in assets/index.yaml), standing on z = 0 with
    vertex colours, at a real size (trees 5-12 m tall, hedges under 2 m)."""
    mesh = PLANTS[name]()
    data = mesh.export(file_type="ply", encoding="binary")
    index = yaml.safe_load((ROOT / "assets" / "index.yaml").read_text())["files"]
    rel = f"driving/plants/{name}.ply"
    assert hashlib.sha256(data).hexdigest() == index[rel]["sha256"]
    assert (ROOT / "assets" / rel).read_bytes() == data
    assert index[rel]["licence"] == "CC0-1.0"
    assert mesh.bounds[0][2] == pytest.approx(0.0, abs=1e-9)
    assert mesh.visual.kind == "vertex"
    height = mesh.extents[2]
    assert (height < 2.0) if name.startswith("hedge") else (5.0 <= height <= 12.0)
