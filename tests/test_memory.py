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
