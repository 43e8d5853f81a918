"""The HTML report renders in a real browser (slow: starts Chromium twice)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import IMAGE_ALTS, SECTION_IDS, Page, read_png

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")


PROBE = (
    "<script>window.addEventListener('load', () => {"
    "for (const img of document.images) {"
    "img.dataset.natural = img.naturalWidth + 'x' + img.naturalHeight + ':' + img.complete; }"
    "document.body.dataset.probed = 'yes'; });</script>"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
def test_report_renders_in_chromium(tmp_path, report_html):
    text = report_html.read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"))
    result = _chromium(tmp_path, "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Page()
    dom.feed(result.stdout)
    assert 'data-probed="yes"' in result.stdout
    assert dom.sections == SECTION_IDS
    assert [img["alt"] for img in dom.images] == IMAGE_ALTS
    for img in dom.images:  # every image decoded at its stated size
        assert img["data-natural"] == f"{img['width']}x{img['height']}:true"
    shot = tmp_path / "shot.png"
    result = _chromium(
        tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", report_html.as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    picture = read_png(shot)
    assert picture.shape == (1600, 1280, 3)
    assert picture.std() > 20  # not blank
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 500  # the sample sheet is drawn
