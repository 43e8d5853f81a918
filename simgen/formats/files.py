"""File helpers shared by writers and merge: hard links with a copy fallback, atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from simgen.io import TMP_MARK


def same_file(a: Path, b: Path) -> bool:
    """Both paths exist and hold the same bytes (hard links compare by inode first)."""
    try:
        sa, sb = a.stat(), b.stat()
    except FileNotFoundError:
        return False
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    return sa.st_size == sb.st_size and a.read_bytes() == b.read_bytes()


def link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` hold ``src``'s bytes: a hard link where possible, else a copy.

    The new file appears atomically (temporary name, then rename); an identical ``dst`` is
    left alone.
    """
    if same_file(src, dst):
        return
    tmp = dst.with_name(f"{dst.name}{TMP_MARK}{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
