"""Atomic file writes and image encoding: a file is either absent or complete, never half."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

TMP_MARK = ".tmp-"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def dump_json(data: Any) -> str:
    """Deterministic JSON (no NaN, fixed separators, trailing newline)."""
    return json.dumps(data, allow_nan=False, separators=(",", ":")) + "\n"


def encode_png(image: np.ndarray, compression: int = 3) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 RGB or (H, W) uint8/uint16 image (deterministic)."""
    import cv2

    if image.ndim == 3:
        image = np.ascontiguousarray(image[:, :, ::-1])  # RGB -> BGR for OpenCV
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])
    if not ok:  # pragma: no cover - encoding an in-memory array does not fail
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def depth_to_png16(depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 metres -> (H, W) uint16 millimetres; 0 where empty or beyond 65.535 m."""
    mm = np.rint(np.asarray(depth, dtype=np.float64) * 1000.0)
    mm[(mm < 0) | (mm > np.iinfo(np.uint16).max)] = 0
    return mm.astype(np.uint16)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete leftovers of interrupted atomic writes under ``directory``; returns the count."""
    count = 0
    if directory.is_dir():
        for path in directory.rglob(f"*{TMP_MARK}*"):
            path.unlink(missing_ok=True)
            count += 1
    return count
