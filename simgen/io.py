"""Atomic file writes and image encoding: a file is either absent or complete, never half."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import deflate
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


def dump_json_object(members: list[tuple[str, Any]], encoded: dict[str, str]) -> str:
    """:func:`dump_json` of the dict of ``members`` (key, value) in that order, except that
    the values of the keys in ``encoded`` are given already encoded (as ``dump_json`` less its
    newline). The same bytes as ``dump_json(dict(members))`` with those values in place; a
    value shared by many objects (a scene by its views' records) is encoded once."""
    parts = []
    for key, value in members:
        text = encoded[key] if key in encoded else dump_json(value)[:-1]
        parts.append(f"{json.dumps(key)}:{text}")
    return "{" + ",".join(parts) + "}\n"


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)
PNG_FILTER_NONE, PNG_FILTER_UP = 0, 2


def _png_chunk(kind: bytes, data: bytes | bytearray) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image: np.ndarray, compression: int = 1) -> bytes:
    """PNG bytes of an (H, W) uint8/uint16 grey, (H, W, 3) uint8 RGB or (H, W, 4) uint8 RGBA
    image (deterministic for a given libdeflate).

    8-bit rows are stored unfiltered; 16-bit rows (depth) use PNG's "Up" filter (the byte
    difference to the row above, computed by numpy), which suits smooth gradients. The rows
    are deflated into a zlib stream by libdeflate at level ``compression``: 0 stores them, 1
    (the default) is fastest, 9 smallest (timings and sizes per level: docs/benchmarks.md,
    "Figures behind defaults").

    Raises:
        ValueError: an unsupported shape, dtype or compression level.
    """
    image = np.asarray(image)
    channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else 0
    if channels not in _PNG_COLOR_TYPES or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot encode a {image.dtype} array of shape {image.shape} as PNG")
    if image.dtype == np.uint16 and channels != 1:
        raise ValueError("16-bit PNGs are written for grey images only")
    if not 0 <= compression <= 9:
        raise ValueError(f"PNG compression must be 0..9, not {compression}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"cannot encode an empty {image.shape} image as PNG")
    wide = image.dtype == np.uint16
    rows = np.ascontiguousarray(image, dtype=">u2" if wide else np.uint8)
    rows = rows.view(np.uint8).reshape(height, -1)
    filtered = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    if wide:
        filtered[:, 0] = PNG_FILTER_UP
        filtered[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    else:
        filtered[:, 0] = PNG_FILTER_NONE
        filtered[:, 1:] = rows
    data = deflate.zlib_compress(filtered.data, compression)
    header = struct.pack(
        ">IIBBBBB", width, height, 16 if wide else 8, _PNG_COLOR_TYPES[channels], 0, 0, 0
    )
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


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


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
