"""The in-process backend (``--workers 1``): one :class:`~simgen.produce.workers.Worker`, no
processes.

A crash of the renderer here ends the run (re-running resumes); exceptions are retried and
reported like in the other backends, and the worker is rebuilt after ``recycle_after`` scenes.
"""

from __future__ import annotations

from collections.abc import Sequence

from simgen.assets import Asset
from simgen.produce.backends.base import ShardTracker
from simgen.produce.shards import ShardQueue
from simgen.produce.workers import Emit, JobSpec, Worker


class InlineBackend:
    """Renders every shard in the calling process.

    Args:
        recycle_after: rebuild the renderer and physics client after this many scenes.
        assets: the already loaded catalog (loaded from the job when omitted).
    """

    def __init__(
        self, recycle_after: int | None = None, assets: Sequence[Asset] | None = None
    ) -> None:
        self.recycle_after = recycle_after
        self.assets = assets

    def run(self, spec: JobSpec, queue: ShardQueue, emit: Emit) -> None:
        """Render until ``queue`` is empty."""
        if not len(queue):
            return
        from simgen.render import single_threaded_blas

        worker = Worker(spec, self.assets)
        assets = worker.assets
        try:
            with single_threaded_blas():
                while len(queue):
                    shard = queue.pop()
                    tracker = ShardTracker(shard, queue, emit)
                    budget = None
                    if self.recycle_after is not None:
                        budget = max(0, self.recycle_after - worker.scenes_attempted)
                    worker.run_shard(shard, tracker, budget)
                    tracker.ended()
                    if (
                        self.recycle_after is not None
                        and worker.scenes_attempted >= self.recycle_after
                        and len(queue)
                    ):
                        worker.close()
                        worker = Worker(spec, assets)
        finally:
            worker.close()

    def close(self) -> None:
        """Nothing outlives :meth:`run` here."""
