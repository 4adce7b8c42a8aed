"""The parts of a started local runtime, kept apart from the runtime object.

Why apart: the exit-time finalizer must be able to stop the workers and delete the store without
keeping the runtime object alive (a ``weakref.finalize`` callback holding the runtime would keep
it from ever being collected), so the started pool, store, actors and GPU pool live in a
:class:`StartedSession` that the finalizer holds. :class:`TaskAttempt` is what the runtime knows
about one attempt of a task on one worker.

Example::

    session = StartedSession()
    session.close()          # safe when nothing was started
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from streamscope.engine.runtime.gpu import GpuPool

if TYPE_CHECKING:
    from streamscope.engine.runtime.base import TaskHandle
    from streamscope.engine.runtime.local.actors import ActorManager
    from streamscope.engine.runtime.local.pool import Worker, WorkerPool
    from streamscope.engine.runtime.local.store import BlockStore


class TaskAttempt:
    """One attempt of a task running on a worker: which worker, which inputs it pinned, which
    GPUs it holds (released when the attempt ends, however it ends)."""

    __slots__ = ("handle", "attempt", "worker", "input_ids", "gpu_ids")

    def __init__(self, handle: "TaskHandle", attempt: int, worker: "Worker", input_ids: list[str], gpu_ids: tuple = ()):
        self.handle = handle
        self.attempt = attempt
        self.worker = worker
        self.input_ids = input_ids
        self.gpu_ids = gpu_ids


class StartedSession:
    """The pool, the store, the actors and the GPU pool of one started runtime."""

    def __init__(self) -> None:
        self.pool: Optional["WorkerPool"] = None
        self.store: Optional["BlockStore"] = None
        self.actors: Optional["ActorManager"] = None
        self.gpus = GpuPool([])

    def close(self) -> None:
        """Stop actors and workers, then delete the store (idempotent)."""
        actors, self.actors = self.actors, None
        if actors is not None:
            actors.stop_all()
        pool, store = self.pool, self.store
        self.pool = self.store = None
        if pool is not None:
            pool.stop()
        if store is not None:
            store.close()


__all__ = ["StartedSession", "TaskAttempt"]
