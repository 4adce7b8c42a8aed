"""RunChannel: one run's private door into a shared runtime.

Why: several runs share one runtime (see :mod:`.result_router`). A run must only ever see, cancel
and free its own tasks. The channel makes that structural rather than a convention: tasks
submitted through it are tagged with its run id, its ``wait`` returns only their results, its
``cancel`` refuses handles it did not submit, and ``close`` cancels whatever it still has in flight
and frees every result it never took — so a run that ends in any way (success, error, cancel,
an interrupted consumer) leaves no task running and no block behind.

Example::

    channel = runtime.open_run("run-7")
    handle = channel.submit(spec)
    for handle, result in channel.wait(0.05):
        ...
    channel.close()
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from streamscope.engine.runtime.base import Runtime, TaskHandle, TaskResult, TaskSpec
    from streamscope.engine.runtime.result_router import ResultRouter


class RunChannel:
    """Submit, wait, cancel and close for one run (made by :meth:`Runtime.open_run`)."""

    def __init__(self, runtime: "Runtime", router: "ResultRouter", run_id: str):
        self.runtime = runtime
        self.run_id = run_id
        self._router = router
        self._lock = threading.Lock()
        self._outstanding: dict[int, "TaskHandle"] = {}
        self._submitted: set[int] = set()
        """Every task id this run submitted: what ``close`` asks the runtime to sweep after."""
        self._closed = False
        router.open(run_id)

    def submit(self, spec: "TaskSpec") -> "TaskHandle":
        """Queue a task of this run (an actor task when ``spec.actor`` is set)."""
        if self._closed:
            raise RuntimeError(f"run {self.run_id!r} is closed; it cannot submit more tasks")
        spec.run_id = self.run_id
        handle = self.runtime.submit(spec)
        with self._lock:
            self._outstanding[handle.task_id] = handle
            self._submitted.add(handle.task_id)
        return handle

    def wait(self, timeout: float) -> "list[tuple[TaskHandle, TaskResult]]":
        """Results of this run's tasks only (each task's final result once; streamed partial
        outputs before it)."""
        results = self._router.wait(self.run_id, timeout)
        with self._lock:
            for handle, result in results:
                if not result.partial:
                    self._outstanding.pop(handle.task_id, None)
        return results

    def cancel(self, handles: Sequence["TaskHandle"]) -> None:
        """Stop these tasks of this run; results not yet taken are freed unseen."""
        with self._lock:
            foreign = [h for h in handles if h.spec.run_id != self.run_id]
            if foreign:
                raise ValueError(f"run {self.run_id!r} cannot cancel tasks of another run: {foreign[:3]}")
            for h in handles:
                self._outstanding.pop(h.task_id, None)
        if handles:
            self._router.discard(self.run_id, [h.task_id for h in handles])
            self.runtime.cancel(list(handles))

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._outstanding)

    def close(self) -> None:
        """Cancel every task still in flight and free every undelivered result. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            left = list(self._outstanding.values())
            self._outstanding.clear()
        try:
            if left:
                self._router.discard(self.run_id, [h.task_id for h in left])
                self.runtime.cancel(left)
        finally:
            self._router.close(self.run_id)
            sweep = getattr(self.runtime, "sweep_task_files", None)  # Runtime's; test doubles may lack it
            if sweep is not None:
                sweep(self._submitted)


__all__ = ["RunChannel"]
