"""The local multi-process backend: W spawned worker processes on this machine.

Each worker process builds its renderer once (:func:`simgen.produce.workers.process_main`) from the
catalog the parent loaded, settles scenes in its own physics helper process
(:mod:`simgen.produce.physics_helper`, recycled every ``RECYCLE_AFTER`` scenes) and renders the
shards it is sent, reporting every finished image through its own pipe. The parent hands out
shards, restarts a worker that retired (recycling) or died, and requeues the unfinished part of
a dead worker's shard, charging the scene it was rendering one failed attempt. Worker
processes are started with the ``spawn`` method: EGL contexts do not survive ``fork``.

One pipe per worker (not a shared queue): a worker killed in the middle of a send can only
break its own pipe, never block the others.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simgen.assets import Asset, warm_geometry
from simgen.produce.backends.base import ShardTracker
from simgen.produce.shards import ShardQueue
from simgen.produce.workers import (
    Emit,
    JobSpec,
    Ready,
    Retiring,
    ShardEnded,
    StartFailed,
    process_main,
)
from simgen.render import single_threaded_blas

STALL_SECONDS = 900.0
"""A worker silent this long while holding a shard is killed and its shard requeued."""


@dataclass
class _Slot:
    """One worker process and what it is doing."""

    process: Any
    conn: Any
    ready: bool = False
    retiring: bool = False
    tracker: ShardTracker | None = None
    last_heard: float = field(default_factory=time.monotonic)
    start_error: str | None = None
    needs_assets: bool = False


def _send_bytes(conn: Any, payload: bytes) -> None:
    """Send ``payload`` on ``conn``; a process that died first is reported by its sentinel."""
    try:
        conn.send_bytes(payload)
    except (BrokenPipeError, OSError):
        pass


class WorkerStartError(RuntimeError):
    """Worker processes keep failing before rendering anything."""


class LocalBackend:
    """Render shards in ``workers`` local processes.

    Args:
        workers: number of worker processes (>= 1).
        recycle_after: a worker exits and is replaced after rendering this many scenes.
        llvmpipe_threads: ``LP_NUM_THREADS`` for each worker (Mesa llvmpipe rasterizer
            threads); default: the CPU count divided by ``workers``, at least 1.
        stall_seconds: kill a worker that sends nothing for this long while busy.
        assets: the loaded catalog, handed to each worker process with its cached geometry
            filled in (:func:`~simgen.assets.warm_geometry`), so that no process loads meshes
            or computes hulls again; each loads the catalog itself when omitted.
    """

    def __init__(
        self,
        workers: int,
        recycle_after: int | None = None,
        llvmpipe_threads: int | None = None,
        stall_seconds: float = STALL_SECONDS,
        assets: Sequence[Asset] | None = None,
    ) -> None:
        self.workers = max(1, workers)
        self.assets = None if assets is None else list(assets)
        self._payload: bytes | None = None  # the pickled assets, sent to each new process
        self.recycle_after = recycle_after
        cpus = os.cpu_count() or 1
        self.llvmpipe_threads = llvmpipe_threads or max(1, cpus // self.workers)
        self.stall_seconds = stall_seconds
        self.started = 0
        self._exiting: list[_Slot] = []  # told to exit by run, joined by close

    def _start(self, ctx, spec: JobSpec) -> _Slot:
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=process_main,
            args=(
                spec,
                child_conn,
                self.recycle_after,
                self.llvmpipe_threads,
                self.assets is not None,
            ),
            name=f"simgen-worker-{self.started}",
            daemon=False,  # it starts a physics helper; the parent stops it in any case
        )
        process.start()
        child_conn.close()
        self.started += 1
        return _Slot(process=process, conn=parent_conn, needs_assets=self.assets is not None)

    def _send_assets(self, slots: list[_Slot]) -> None:
        """Send the pickled catalog to every process started without it yet (computing its
        geometry and pickling it once, on first use, while the first processes import).

        Each send runs in a thread: the pipe takes a few MiB only as fast as the process
        reads it, and the parent goes on meanwhile. Nothing else is sent to a process before
        it answers :class:`Ready`, so the sends never interleave with shards.
        """
        waiting = [slot for slot in slots if slot.needs_assets]
        if not waiting:
            return
        if self._payload is None:
            # One BLAS thread: OpenBLAS threads spin after each of the hull's small products
            # and take the cores the first processes import on (2.1 s -> 1.1-1.4 s on LM-O).
            with single_threaded_blas():
                warm_geometry(self.assets)
            self._payload = pickle.dumps(self.assets, protocol=pickle.HIGHEST_PROTOCOL)
        for slot in waiting:
            slot.needs_assets = False
            threading.Thread(
                target=_send_bytes, args=(slot.conn, self._payload), daemon=True
            ).start()

    def run(self, spec: JobSpec, queue: ShardQueue, emit: Emit) -> None:
        """Render until ``queue`` is empty.

        Raises:
            WorkerStartError: worker processes fail to start ``max_attempts`` times in a row.
        """
        import multiprocessing
        from multiprocessing.connection import wait

        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # inherited by spawned workers
        ctx = multiprocessing.get_context("spawn")
        slots: list[_Slot] = []
        start_failures = 0
        finished = False
        try:
            while len(queue) or any(s.tracker is not None for s in slots):
                busy = sum(s.tracker is not None for s in slots)
                live = sum(not s.retiring for s in slots)
                while live < min(self.workers, busy + len(queue)):
                    slots.append(self._start(ctx, spec))
                    live += 1
                self._send_assets(slots)
                for slot in slots:
                    if slot.ready and not slot.retiring and slot.tracker is None and len(queue):
                        shard = queue.pop(self.workers)
                        slot.tracker = ShardTracker(shard, queue, emit)
                        slot.last_heard = time.monotonic()
                        slot.conn.send(shard)
                handles = [s.conn for s in slots] + [s.process.sentinel for s in slots]
                ready = set(wait(handles, timeout=5.0))
                now = time.monotonic()
                for slot in list(slots):
                    alive = True
                    if slot.conn in ready:
                        alive = self._drain(slot)
                    if slot.process.sentinel in ready or not alive:
                        self._drain(slot)
                        slot.process.join()
                        slots.remove(slot)
                        start_failures = self._ended(slot, start_failures, queue)
                    elif slot.tracker is not None and now - slot.last_heard > self.stall_seconds:
                        slot.process.kill()  # reaped on the next pass through its sentinel
                        slot.last_heard = now
            finished = True
        finally:
            _ask_to_exit(slots)
            self._exiting = slots
            if not finished:
                self.close(grace=0.0)

    def close(self, grace: float = 10.0) -> None:
        """Wait up to ``grace`` seconds for the workers :meth:`run` told to exit, then kill
        whatever still runs. Killing is safe at any moment: every file is written atomically.
        """
        slots, self._exiting = self._exiting, []
        deadline = time.monotonic() + grace
        for slot in slots:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()

    def _drain(self, slot: _Slot) -> bool:
        """Handle every message waiting on ``slot``'s pipe; False once the pipe is closed."""
        try:
            while slot.conn.poll():
                self._handle(slot, slot.conn.recv())
        except (EOFError, OSError):
            return False
        return True

    def _handle(self, slot: _Slot, message: Any) -> None:
        slot.last_heard = time.monotonic()
        if isinstance(message, Ready):
            slot.ready = True
        elif isinstance(message, ShardEnded):
            if slot.tracker is not None:
                slot.tracker.ended()
                slot.tracker = None
        elif isinstance(message, Retiring):
            slot.retiring = True
        elif isinstance(message, StartFailed):
            slot.start_error = message.error
        elif slot.tracker is not None:
            slot.tracker(message)

    def _ended(self, slot: _Slot, start_failures: int, queue: ShardQueue) -> int:
        """Book-keeping for a worker process that exited; returns the start-failure count."""
        code = slot.process.exitcode
        if slot.tracker is not None:
            if slot.retiring and code == 0:  # an orderly exit: nothing was lost
                slot.tracker.ended()
            else:
                slot.tracker.crashed(f"worker process died (exit code {code})")
            slot.tracker = None
        if slot.ready:
            return 0
        start_failures += 1
        if start_failures >= queue.book.max_attempts:
            reason = slot.start_error or f"exit code {code}"
            raise WorkerStartError(
                f"worker processes failed to start {start_failures} times: {reason}"
            )
        return start_failures


def _ask_to_exit(slots: list[_Slot]) -> None:
    """Tell every worker to exit once idle (a dead one's pipe is already broken)."""
    for slot in slots:
        try:
            slot.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
