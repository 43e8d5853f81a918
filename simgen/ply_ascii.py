"""A faster reader of ASCII PLY bodies for trimesh, with trimesh's own results.

trimesh parses an ASCII PLY body one line at a time (``np.fromstring`` per line, then
``np.vstack``): about 1 s for the eight LM-O models (320,000 lines), in every run that loads
them. :func:`install` replaces trimesh's ``exchange.ply._ply_ascii`` with
:func:`read_ascii_body`, which checks with byte-level numpy that every line of each element
holds the same number of numbers, parses each element's lines with one ``np.fromstring`` call
(the same decimal-to-float64 conversion, number by number) and hands the same
``(rows, columns)`` float64 array to trimesh's own ``_load_element_single``. Anything else
(lines of different lengths, more than one list property, bytes outside printable ASCII and
the usual whitespace, text ``np.fromstring`` cannot parse whole) goes to trimesh's reader
unchanged, so the elements are always what trimesh itself would produce.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

_PATCHED = "_simgen_fast_ascii"


def install() -> bool:
    """Make trimesh read ASCII PLY bodies with :func:`read_ascii_body` (idempotent).

    Returns:
        Whether the reader is installed: ``False`` when this trimesh lacks the functions it
        builds on (then trimesh reads PLY files as it always does).
    """
    try:
        from trimesh.exchange import ply
    except ImportError:
        return False
    original = getattr(ply, "_ply_ascii", None)
    if original is None or not hasattr(ply, "_load_element_single"):
        return False
    if getattr(original, _PATCHED, False):
        return True

    def fast_ply_ascii(elements: dict[str, Any], file_obj: Any) -> None:
        raw = file_obj.read()
        if not read_ascii_body(elements, raw, ply._load_element_single):
            original(elements, io.BytesIO(raw))

    setattr(fast_ply_ascii, _PATCHED, True)
    fast_ply_ascii.__wrapped__ = original  # type: ignore[attr-defined]
    ply._ply_ascii = fast_ply_ascii
    return True


def _line_token_counts(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines of an ASCII body and the whitespace-separated tokens on each.

    Args:
        data: (B,) uint8 bytes of the body, no line break but ``\\n``.

    Returns:
        ``(starts, stops, counts)``: (L,) int64 byte offsets of each line (``stops``
        exclusive, before its newline) and its token count, for the L lines
        ``str.splitlines`` gives (no empty line after a final newline).
    """
    newline = data == 10
    ends = np.flatnonzero(newline)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(data)]])
    if len(data) and newline[-1]:  # splitlines drops the empty text after a final newline
        starts, stops = starts[:-1], stops[:-1]
    separator = newline | (data == 32) | (data == 9)
    begins = ~separator
    begins[1:] &= separator[:-1]
    tokens = np.flatnonzero(begins)  # where each token starts
    counts = np.searchsorted(tokens, stops) - np.searchsorted(tokens, starts)
    return starts, stops, counts


def read_ascii_body(elements: dict[str, Any], raw: bytes, load_element: Any) -> bool:
    """Fill ``elements[name]["data"]`` from an ASCII PLY body as trimesh's ``_ply_ascii``
    would, or change nothing and return ``False`` where this reader does not apply.

    Args:
        elements: trimesh's parsed header (``{name: {"length", "properties"}}``, in order).
        raw: the bytes after ``end_header``.
        load_element: trimesh's ``_load_element_single(properties, data)``.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    if not (((data >= 32) & (data < 127)) | (data == 10) | (data == 9)).all():
        return False  # other line breaks or non-ASCII text: trimesh's reader decides
    starts, stops, counts = _line_token_counts(data)
    filled: dict[str, Any] = {}
    row = 0
    for name, values in elements.items():
        length = values.get("length", 0)
        if length == 0:
            continue
        properties = values["properties"]
        if sum("$LIST" in dtype for dtype in properties.values()) > 1:
            return False
        if row + length > len(starts):
            return False
        width = int(counts[row])
        if width == 0 or not (counts[row : row + length] == width).all():
            return False
        text = raw[int(starts[row]) : int(stops[row + length - 1])].decode("ascii")
        try:
            with warnings.catch_warnings():  # unparsable text: an error (NumPy 2.4) or a
                warnings.simplefilter("ignore")  # warning and a short array (older NumPy)
                numbers = np.fromstring(text, sep=" ")
        except ValueError:
            return False
        if numbers.size != length * width:
            return False
        filled[name] = load_element(properties, numbers.reshape(length, width))
        row += length
    for name, columns in filled.items():
        elements[name]["data"] = columns
    return True
