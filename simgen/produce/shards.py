"""Shards: the units of work a dataset is cut into, and the book of failed attempts.

Image ``i`` of a dataset is view ``i % views_per_scene`` of scene ``i // views_per_scene``. A
shard is a fixed range of scene indices ``[start, stop)`` (shard ``k`` covers scenes
``k * size .. (k + 1) * size - 1``), listing for each of its scenes the views that still have no
record on disk. Because scene ``j`` draws only from ``(seed, j)``, shards can run in any order,
on any worker, any number of times, and the images come out the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from simgen.dataset.layout import record_path


@dataclass(frozen=True)
class SceneWork:
    """One scene and the views of it still to render (ascending)."""

    scene_index: int
    views: tuple[int, ...]


@dataclass(frozen=True)
class Shard:
    """Scenes ``[start, stop)``; ``scenes`` lists only those with views still to render."""

    shard_id: int
    start: int
    stop: int
    scenes: tuple[SceneWork, ...]

    @property
    def images(self) -> int:
        """Number of images this shard renders."""
        return sum(len(s.views) for s in self.scenes)

    def without(self, done: Iterable[int]) -> Shard:
        """The same shard minus the scenes listed in ``done``."""
        skip = set(done)
        return replace(self, scenes=tuple(s for s in self.scenes if s.scene_index not in skip))


def pending_views(out_dir: Path, num_images: int, views_per_scene: int) -> dict[int, list[int]]:
    """Views without a record, by scene index (both ascending)."""
    todo: dict[int, list[int]] = {}
    for index in range(num_images):
        if not record_path(out_dir, index).is_file():
            todo.setdefault(index // views_per_scene, []).append(index % views_per_scene)
    return todo


def missing_views(out_dir: Path, work: SceneWork, views_per_scene: int) -> tuple[int, ...]:
    """The views of ``work`` that still have no record on disk (re-checked before rendering)."""
    base = work.scene_index * views_per_scene
    return tuple(v for v in work.views if not record_path(out_dir, base + v).is_file())


def make_shards(pending: dict[int, list[int]], scenes_per_shard: int) -> list[Shard]:
    """Cut pending scenes into fixed-range shards, in ascending scene order.

    Args:
        pending: views to render by scene index (see :func:`pending_views`).
        scenes_per_shard: the shard size in scenes (>= 1).

    Returns:
        The non-empty shards; shard ``k`` covers scenes ``[k * size, (k + 1) * size)``.
    """
    if scenes_per_shard < 1:
        raise ValueError("scenes_per_shard must be >= 1")
    grouped: dict[int, list[SceneWork]] = {}
    for scene_index in sorted(pending):
        work = SceneWork(scene_index, tuple(sorted(pending[scene_index])))
        grouped.setdefault(scene_index // scenes_per_shard, []).append(work)
    return [
        Shard(k, k * scenes_per_shard, (k + 1) * scenes_per_shard, tuple(scenes))
        for k, scenes in sorted(grouped.items())
    ]


def default_shard_size(scenes: int, workers: int) -> int:
    """Scenes per shard: 16 for one worker (a worker prefetches within a shard); with several,
    small enough that all stay busy until the end (about eight shards per worker), at most 16
    so a crash loses little."""
    if workers <= 1:
        return 16
    return max(1, min(16, scenes // (8 * workers)))


@dataclass(frozen=True)
class SceneFailure:
    """A scene that failed ``attempts`` times and was given up on in this run.

    Its images are ``scene_index * views_per_scene + v``; re-running the command retries it.
    """

    scene_index: int
    seed: int
    attempts: int
    error: str

    def describe(self) -> str:
        """One line: index, seed, attempts and the last error."""
        return (
            f"scene {self.scene_index} (seed {self.seed}) failed {self.attempts} times: "
            f"{self.error}"
        )


@dataclass
class AttemptBook:
    """Counts failed attempts per scene and decides between retrying and giving up.

    Args:
        seed: the dataset's root seed (named in failure reports).
        max_attempts: attempts per scene before it is reported as failed (>= 1).
    """

    seed: int
    max_attempts: int
    attempts: dict[int, int] = field(default_factory=dict)
    failures: list[SceneFailure] = field(default_factory=list)
    retries: int = 0

    def fail(self, scene_index: int, error: str) -> bool:
        """Record one failed attempt; True when the scene should be retried."""
        count = self.attempts.get(scene_index, 0) + 1
        self.attempts[scene_index] = count
        if count < self.max_attempts:
            self.retries += 1
            return True
        self.failures.append(SceneFailure(scene_index, self.seed, count, error))
        return False

    def sorted_failures(self) -> list[SceneFailure]:
        """Failures in scene order (the order in which they happened depends on scheduling)."""
        return sorted(self.failures, key=lambda f: f.scene_index)


class ShardQueue:
    """Shards waiting to run, and the retry policy every backend shares.

    * A scene that raised is retried (alone, at the front of the queue) until it has failed
      ``book.max_attempts`` times, then reported.
    * When a worker ends a shard early (recycling), the scenes it did not report go back.
    * When a worker dies mid-shard, the first scene it had not reported is the one it was
      rendering (scenes run in order): that scene is charged one failed attempt, and the
      unreported rest goes back.
    """

    def __init__(self, shards: Iterable[Shard], book: AttemptBook) -> None:
        from collections import deque

        self._queue = deque(shards)
        self.book = book
        self.crashes = 0
        self.crash_reports: list[str] = []

    def __len__(self) -> int:
        return len(self._queue)

    def pop(self, workers: int = 1) -> Shard:
        """The next shard to run, or, once few scenes are left, only its leading part.

        With ``workers`` taking from the queue, a piece holds at most ``1 / (2 * workers)`` of
        the scenes still queued (at least one; guided self-scheduling) and the rest of the
        shard stays at the front. Near the end the pieces shrink to single scenes, so the
        workers finish together instead of one rendering a whole last shard while the others
        have nothing left. A piece keeps its shard's id and range; which worker renders a scene
        never changes its images.
        """
        shard = self._queue.popleft()
        if workers <= 1 or len(shard.scenes) <= 1:
            return shard
        left = len(shard.scenes) + sum(len(s.scenes) for s in self._queue)
        take = -(-left // (2 * workers))
        if take >= len(shard.scenes):
            return shard
        self._queue.appendleft(replace(shard, scenes=shard.scenes[take:]))
        return replace(shard, scenes=shard.scenes[:take])

    def peek(self) -> Shard:
        """The next shard, left in the queue."""
        return self._queue[0]

    def scene_failed(self, shard: Shard, scene_index: int, error: str) -> None:
        """A scene of ``shard`` raised ``error``: retry it alone, or give up on it."""
        if self.book.fail(scene_index, error):
            work = tuple(s for s in shard.scenes if s.scene_index == scene_index)
            self._queue.appendleft(replace(shard, scenes=work))

    def shard_ended(self, shard: Shard, reported: Iterable[int]) -> None:
        """A worker finished with ``shard``; requeue the scenes it did not report."""
        rest = shard.without(reported)
        if rest.scenes:
            self._queue.appendleft(rest)

    def shard_crashed(self, shard: Shard, reported: Iterable[int], error: str) -> None:
        """The worker running ``shard`` died; charge the scene it was on and requeue."""
        self.crashes += 1
        rest = shard.without(reported)
        if not rest.scenes:
            self.crash_reports.append(f"{error} after finishing its scenes")
            return
        current = rest.scenes[0].scene_index
        retry = self.book.fail(current, error)
        self.crash_reports.append(
            f"{error} while rendering scene {current} (seed {self.book.seed}); "
            + ("retrying it" if retry else "giving up on it")
        )
        if not retry:
            rest = rest.without([current])
        if rest.scenes:
            self._queue.appendleft(rest)
