"""Backends run a job's shards: in this process, in local worker processes, or as Ray tasks.

Every backend takes shards from a :class:`~simgen.produce.shards.ShardQueue` (which owns the retry
policy) and passes the workers' events to one callback in the calling process, so progress,
summary and failure reports look the same whichever backend ran.
"""

from __future__ import annotations

from typing import Protocol

from simgen.produce.shards import Shard, ShardQueue
from simgen.produce.workers import Emit, Event, JobSpec, SceneDone, SceneFailed

BACKENDS = ("local", "ray")
"""Names accepted by ``simgen render --backend``."""


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


def create_backend(
    name: str,
    *,
    workers: int | None = 1,
    recycle_after: int | None = None,
    address: str | None = None,
    assets=None,
) -> Backend:
    """The backend for ``name`` (``local`` with one worker renders in this process).

    ``workers``: local worker processes, or Ray tasks in flight (``None``: the cluster's CPUs).

    Raises:
        ValueError: unknown name.
    """
    if name == "local":
        if workers is None or workers <= 1:
            from simgen.produce.backends.inline import InlineBackend

            return InlineBackend(recycle_after=recycle_after, assets=assets)
        from simgen.produce.backends.local import LocalBackend

        return LocalBackend(workers=workers, recycle_after=recycle_after, assets=assets)
    if name == "ray":
        from simgen.produce.backends.ray_backend import RayBackend

        return RayBackend(workers=workers, recycle_after=recycle_after, address=address)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
