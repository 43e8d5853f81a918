#!/usr/bin/env python
"""Regenerate the README pictures of ``simgen preview`` and ``simgen report``.

Renders 16 images of the built-in default scene (seed 0) into a temporary folder, then runs
the same code as these commands and writes the results to ``docs/images``::

    simgen preview DIR --out docs/images/preview.png --n 12
    simgen report DIR --out DIR/report.html
    chromium --headless --screenshot=docs/images/report.png --window-size=1280,2400 ...

The report screenshot needs Debian's ``chromium`` (``apt-get install chromium``).

Usage: python scripts/make_inspect_images.py [--out docs/images] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from simgen.cli import main as simgen
from simgen.config import load_config
from simgen.produce.runner import render_dataset

CHROMIUM = "chromium"
WINDOW = (1280, 2400)
"""CSS pixels of the page captured; the PNG is ``SCALE`` times that."""
SCALE = 0.6


def screenshot(page: Path, target: Path, profile: Path) -> None:
    """Screenshot the top ``WINDOW`` CSS pixels of ``page`` with headless Chromium."""
    binary = shutil.which(CHROMIUM)
    if binary is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--force-device-scale-factor={SCALE}",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--keep", type=Path, help="Render the dataset here and keep it.")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep.resolve() if args.keep else Path(tmp) / "tabletop"
        render_dataset(load_config(None, ["num_images=16", "seed=0"]), data)
        os.chdir(data.parent)  # the pages name the dataset by the relative path given
        preview = out / "preview.png"
        if simgen(["preview", data.name, "--out", str(preview), "--n", "12"]) != 0:
            raise SystemExit("simgen preview failed")
        page = data / "report.html"
        if simgen(["report", data.name, "--out", str(page)]) != 0:
            raise SystemExit("simgen report failed")
        screenshot(page, out / "report.png", Path(tmp) / "chromium-profile")
        print(f"wrote {preview} and {out / 'report.png'}")


if __name__ == "__main__":
    main()
