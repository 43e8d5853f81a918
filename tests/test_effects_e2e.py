"""Effects are byte-identical in another process (slow: starts a Python process)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simgen.effects import EFFECT_CONFIGS, EFFECT_NAMES, apply_effects, sample_effects
from simgen.rng import view_rng
from tests.helpers import make_scene

pytestmark = pytest.mark.slow


def test_byte_identical_across_processes(tmp_path: Path) -> None:
    rgb, _ = make_scene()
    configs = [EFFECT_CONFIGS[name](p=1.0) for name in EFFECT_NAMES]
    drawn = sample_effects(configs, view_rng(7, 3, 1))
    np.save(tmp_path / "rgb.npy", rgb)
    (tmp_path / "drawn.json").write_text(json.dumps(drawn))
    script = (
        "import hashlib, json, sys\n"
        "import numpy as np\n"
        "from simgen.effects import apply_effects\n"
        "rgb = np.load(sys.argv[1] + '/rgb.npy')\n"
        "drawn = json.load(open(sys.argv[1] + '/drawn.json'))\n"
        "print(hashlib.sha256(apply_effects(rgb, drawn).tobytes()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "NO_ALBUMENTATIONS_UPDATE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    here = hashlib.sha256(apply_effects(rgb, drawn).tobytes()).hexdigest()
    assert result.stdout.strip() == here
