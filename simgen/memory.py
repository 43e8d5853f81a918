"""Give freed heap memory back to the operating system between scenes.

A worker's heap churns: every scene allocates meshes, textures, images and masks, and Mesa's
llvmpipe compiles shaders on its own threads, each of which allocates from its own glibc malloc
arena. glibc returns freed memory to the system only from the top of the main heap; the other
arenas keep their free pages resident, and a worker's resident set creeps up with
fragmentation. ``malloc_trim`` releases them, but the next scene then touches those pages
again (page faults, zeroing), which costs system CPU on every trimmed scene. So
:class:`HeapTrimmer` trims only when the resident set between scenes has grown by
:data:`TRIM_SLACK_MIB` since its last trim: more than one scene's own swing of allocations, so
that it trims rarely. The measured trade-off is in docs/benchmarks.md ("Heap trimming").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

from simgen.logs import log_once

log = logging.getLogger(__name__)

TRIM_SLACK_MIB = 96.0
"""Growth of the resident set (MiB) since the last trim that makes :class:`HeapTrimmer` trim."""


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or ``None`` on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name is not None else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        log_once(
            log,
            "no-malloc-trim",
            logging.INFO,
            "the C library has no malloc_trim: freed heap stays with each worker, so a long run's "
            "resident memory can grow (--recycle-after bounds it)",
        )
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Return the free pages of every malloc arena to the system (glibc ``malloc_trim(0)``).

    Memory still in use is untouched; only the resident set shrinks. Returns ``True`` when
    memory was released, ``False`` when none was or the C library has no ``malloc_trim``.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


@functools.cache
def _page_mib() -> float:
    return os.sysconf("SC_PAGE_SIZE") / 2**20


def resident_mib() -> float | None:
    """This process's resident set in MiB (``/proc/self/statm``), or ``None`` without it."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _page_mib()
    except (OSError, IndexError, ValueError):
        return None


class HeapTrimmer:
    """Trims the heap (:func:`release_free_heap`) when the resident set has grown by
    ``slack_mib`` since the last trim (the first call always trims).

    Args:
        slack_mib: growth that triggers a trim.
        resident: reads the resident set in MiB (``None``: unknown, then it always trims).
        trim: releases free heap pages.
    """

    def __init__(
        self,
        slack_mib: float = TRIM_SLACK_MIB,
        resident=resident_mib,
        trim=release_free_heap,
    ) -> None:
        self.slack_mib = slack_mib
        self._resident = resident
        self._trim = trim
        self.floor: float | None = None  # resident set right after the last trim
        self.trims = 0

    def after_scene(self) -> bool:
        """Trim if the resident set grew by the slack since the last trim; returns whether it
        trimmed."""
        now = self._resident()
        if now is not None and self.floor is not None and now < self.floor + self.slack_mib:
            return False
        self._trim()
        self.trims += 1
        self.floor = self._resident()
        return True
