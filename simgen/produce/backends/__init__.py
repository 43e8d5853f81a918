"""Backends run a job's shards: in this process, in local worker processes, or as Ray tasks.

Every backend takes shards from a :class:`~simgen.produce.shards.ShardQueue` (which owns the retry
policy) and passes the workers' events to one callback in the calling process, so progress,
summary and failure reports look the same whichever backend ran.
"""

from __future__ import annotations

from simgen.produce.backends.base import Backend, ShardTracker

BACKENDS = ("local", "ray")
"""Names accepted by ``simgen render --backend``."""

__all__ = ["BACKENDS", "Backend", "ShardTracker", "create_backend"]


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
