"""simgen.memory: freed heap pages go back to the system."""

from __future__ import annotations

import threading

import pytest

from simgen.memory import HeapTrimmer, _malloc_trim, release_free_heap, resident_mib


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("VmRSS not found")


@pytest.mark.skipif(_malloc_trim() is None, reason="the C library has no malloc_trim")
def test_release_free_heap_shrinks_a_fragmented_thread_arena():
    kept: list[bytes] = []

    def churn() -> None:
        # ~190 MiB in 4 KB blocks from a thread's own arena, one block in 16 kept alive: the
        # freed pages between them stay resident until trimmed.
        blocks = [bytes(4000) for _ in range(50_000)]
        kept.extend(blocks[::16])

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    before = rss_mib()
    assert release_free_heap()
    after = rss_mib()
    assert before - after > 100, (before, after)
    assert len(kept) == 3125 and all(len(block) == 4000 for block in kept)


def test_heap_trimmer_trims_when_the_resident_set_grew_by_the_slack():
    resident = iter([100.0, 80.0, 110.0, 129.0, 131.0, 90.0, 130.0, 139.0])
    trims = []
    trimmer = HeapTrimmer(
        slack_mib=50.0, resident=lambda: next(resident), trim=lambda: trims.append(1)
    )
    # first call trims (then 80 is the floor); 110 and 129 stay below 80 + 50; 131 trims
    # (floor 90); 130 stays below 140; 139 too
    assert [trimmer.after_scene() for _ in range(5)] == [True, False, False, True, False]
    assert trimmer.floor == 90.0 and trimmer.trims == len(trims) == 2


def test_heap_trimmer_always_trims_when_the_resident_set_is_unknown():
    trims = []
    trimmer = HeapTrimmer(resident=lambda: None, trim=lambda: trims.append(1))
    assert all(trimmer.after_scene() for _ in range(3)) and len(trims) == 3


def test_resident_mib_reads_this_process():
    assert resident_mib() == pytest.approx(rss_mib(), rel=0.05)


KEEP_CHECK = """
import ctypes, ctypes.util, json
from simgen.memory import keep_freed_memory

libc = ctypes.CDLL(ctypes.util.find_library("c"))
names = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
         "fordblks", "keepcost")
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in names]
libc.mallinfo2.restype = Info

def big_block():
    before = libc.mallinfo2().hblks  # blocks served by their own mmap
    block = bytearray(64 << 20)
    during = libc.mallinfo2().hblks
    del block
    return during - before, libc.mallinfo2().fordblks  # and the free bytes the heap keeps

plain = big_block()
took = keep_freed_memory()
kept = big_block()
print(json.dumps({"took": took, "again": keep_freed_memory(), "plain": plain, "kept": kept}))
"""


def test_keep_freed_memory_serves_big_blocks_from_the_heap_and_keeps_them():
    import ctypes.util
    import json
    import subprocess
    import sys

    name = ctypes.util.find_library("c")
    if name is None or not hasattr(__import__("ctypes").CDLL(name), "mallinfo2"):
        pytest.skip("not glibc 2.33 or later")
    # its own process: the setting is process-wide
    done = subprocess.run([sys.executable, "-c", KEEP_CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["took"] and found["again"]
    assert found["plain"][0] == 1 and found["plain"][1] < 64 << 20  # own mmap, unmapped
    assert found["kept"][0] == 0 and found["kept"][1] >= 64 << 20  # from the heap, kept
