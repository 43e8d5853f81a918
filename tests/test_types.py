"""The core, physics, randomization, formats and dataset packages type-check with mypy
(the file list and settings are ``[tool.mypy]`` in pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors():
    mypy = shutil.which("mypy") or str(Path(sys.executable).parent / "mypy")
    if not Path(mypy).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("mypy is not installed (pip install -e '.[test]')")
        pytest.skip("mypy is not installed")
    result = subprocess.run(
        [mypy, "--config-file", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
