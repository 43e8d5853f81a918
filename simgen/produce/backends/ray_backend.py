"""The Ray backend: the same shards as Ray tasks, writing into a shared dataset directory.

Optional: ``pip install 'simgen[ray]'``. Every node must see the dataset directory at the same
path (a shared filesystem) and have simgen installed. Each Ray worker process keeps one
:class:`~simgen.produce.workers.Worker` (renderer, physics client, catalog) across the tasks it
runs, and Ray replaces the process after ``max_calls`` tasks (recycling). A task whose worker
process dies is run again by the driver under the same retry policy as the local backend.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from simgen.errors import SimgenError
from simgen.produce.backends.base import ShardTracker
from simgen.produce.shards import Shard, ShardQueue, missing_views
from simgen.produce.workers import Emit, Event, JobSpec, Worker

_WORKERS: dict[str, Worker] = {}
"""The worker of this Ray process, by job key (one job at a time)."""


def import_ray():
    """Import Ray, or explain how to install it."""
    try:
        import ray
    except ImportError:
        raise SimgenError(
            "the Ray backend needs Ray: pip install 'simgen[ray]' (or pip install ray)",
            field="--backend",
        ) from None
    return ray


def job_key(spec: JobSpec) -> str:
    """A short id of the job (config and output directory)."""
    text = spec.config.model_dump_json() + "\0" + str(spec.out_dir) + "\0" + spec.renderer
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_shard_task(spec: JobSpec, key: str, shard: Shard, llvmpipe_threads: int) -> list:
    """Body of a Ray task: render one shard with this process's cached worker.

    Returns:
        The shard's events, in order (the driver replays them).
    """
    from simgen.render import single_threaded_blas

    worker = _WORKERS.get(key)
    if worker is None:
        for stale in _WORKERS.values():
            stale.close()
        _WORKERS.clear()
        os.environ["LP_NUM_THREADS"] = str(llvmpipe_threads)  # before the GL context exists
        worker = _WORKERS[key] = Worker(spec)
    events: list[Event] = []
    with single_threaded_blas():
        worker.run_shard(shard, events.append)
    return events


class RayBackend:
    """Run shards as Ray tasks.

    Args:
        workers: tasks in flight; ``None`` or < 1: the cluster's CPU count.
        recycle_after: a Ray worker process is replaced after about this many scenes (whole
            shards: Ray's ``max_calls``).
        address: Ray cluster address; ``None`` joins the instance this process already
            started, or starts a local one.
        llvmpipe_threads: ``LP_NUM_THREADS`` for each worker process.
    """

    def __init__(
        self,
        workers: int | None = None,
        recycle_after: int | None = None,
        address: str | None = None,
        llvmpipe_threads: int = 1,
    ) -> None:
        self.workers = workers
        self.recycle_after = recycle_after
        self.address = address
        self.llvmpipe_threads = llvmpipe_threads

    def run(self, spec: JobSpec, queue: ShardQueue, emit: Emit) -> None:
        """Render until ``queue`` is empty."""
        if not len(queue):
            return
        ray = import_ray()
        started = False
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            started = True
        try:
            self._run(ray, spec, queue, emit)
        finally:
            if started:
                ray.shutdown()

    def close(self) -> None:
        """Nothing outlives :meth:`run`: Ray is shut down there."""

    def _run(self, ray, spec: JobSpec, queue: ShardQueue, emit: Emit) -> None:
        in_flight_max = self.workers or 0
        if in_flight_max < 1:
            in_flight_max = max(1, int(ray.cluster_resources().get("CPU", 1)))
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
        if self.recycle_after is not None:
            first = queue.peek()
            shard_scenes = max(1, first.stop - first.start)
            options["max_calls"] = max(1, self.recycle_after // shard_scenes)
        task = ray.remote(**options)(render_shard_task)
        spec_ref = ray.put(spec)
        key = job_key(spec)
        running: dict[Any, ShardTracker] = {}
        while len(queue) or running:
            while len(queue) and len(running) < in_flight_max:
                shard = queue.pop(in_flight_max)
                ref = task.remote(spec_ref, key, shard, self.llvmpipe_threads)
                running[ref] = ShardTracker(shard, queue, emit)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                tracker = running.pop(ref)
                try:
                    events = ray.get(ref)
                except Exception as exc:  # the task's process died or it raised
                    reason = " ".join(str(exc).split())[:300]
                    tracker.reported |= _finished_on_disk(spec, tracker.shard)
                    tracker.crashed(f"Ray task failed: {type(exc).__name__}: {reason}")
                    continue
                for event in events:
                    tracker(event)
                tracker.ended()


def _finished_on_disk(spec: JobSpec, shard: Shard) -> set[int]:
    """Scenes of ``shard`` whose every listed view has a record."""
    views = spec.config.views_per_scene
    return {w.scene_index for w in shard.scenes if not missing_views(spec.out_dir, w, views)}
