"""simgen.memory: freed heap pages go back to the system."""

from __future__ import annotations

import threading

import pytest

from simgen.memory import _malloc_trim, release_free_heap


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
