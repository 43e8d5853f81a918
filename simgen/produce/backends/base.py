"""What every backend is (:class:`Backend`) and the bookkeeping all of them share
(:class:`ShardTracker`). The backends themselves import this module, never the package's
factory (:func:`simgen.produce.backends.create_backend`), so no import runs in a circle."""

from __future__ import annotations

from typing import Protocol

from simgen.produce.shards import Shard, ShardQueue
from simgen.produce.workers import Emit, Event, JobSpec, SceneDone, SceneFailed


class Backend(Protocol):
    """Runs every shard of ``queue`` (including retries it adds) to completion."""

    def run(self, spec: JobSpec, queue: ShardQueue, emit: Emit) -> None:
        """Render until the queue is empty; events go to ``emit`` in this process."""
        ...

    def close(self) -> None:
        """Release what :meth:`run` left running (worker processes still exiting); idempotent.

        Called after the format files are written, so those overlap the workers' exit.
        """
        ...


class ShardTracker:
    """Follows one running shard: which scenes were reported, and failures to requeue."""

    def __init__(self, shard: Shard, queue: ShardQueue, emit: Emit) -> None:
        self.shard = shard
        self.queue = queue
        self.emit = emit
        self.reported: set[int] = set()

    def __call__(self, event: Event) -> None:
        if isinstance(event, SceneDone | SceneFailed):
            self.reported.add(event.scene_index)
        if isinstance(event, SceneFailed):
            self.queue.scene_failed(self.shard, event.scene_index, event.error)
        self.emit(event)

    def ended(self) -> None:
        """The worker is done with the shard: unreported scenes go back to the queue."""
        self.queue.shard_ended(self.shard, self.reported)

    def crashed(self, error: str) -> None:
        """The worker died while on this shard."""
        self.queue.shard_crashed(self.shard, self.reported, error)
