"""Background execution: consume a Dataset (or run any callable) on a thread and hand back a handle.

Why a handle around a thread, and not a second executor API: the StreamingExecutor already runs its
scheduling loop on its own thread; what blocks is the *consumer* (``materialize`` pulling every
output). Moving the consumer onto a thread lets a notebook user keep working while the run
streams, and the handle collects what the notebook needs: the run's telemetry buffer (for the live
views), ``cancel()``, ``result()``, ``state`` and ``error``.

How the handle finds its runs: a TelemetryHub listener fires in the thread that creates an
executor, so every run created on the handle's own thread belongs to it, however many runs the
action starts (a ``%%dataset --background`` cell may start several). ``cancel()`` reaches them
through the run registry, the same path as ``%dataset cancel``.

Why ``materialize`` is consumed here and not through ``Dataset.materialize``: a run cancelled half
way has already handed some blocks to the consumer; those must be freed at once (not left in
``/dev/shm`` until the process ends), so the consumer here frees what it collected when the run
does not succeed.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from streamscope.engine.exceptions import ExecutionCancelled
from streamscope.engine.execution import run_registry
from streamscope.engine.execution.telemetry import SnapshotBuffer, hub

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

ACTIONS = ("materialize", "count", "take_all", "to_pandas", "to_arrow", "consume")
"""Consumption actions ``run_in_background`` accepts (``consume`` iterates and drops every batch)."""

_BUFFER_WAIT_S = 10.0


class RunHandle:
    """A consumption running on a daemon thread.

    ``done``, ``state`` (pending/running/succeeded/failed/cancelled), ``error``, ``buffer`` (the
    SnapshotBuffer of its latest run, None if the action needed no execution), ``buffers`` (all
    of them), ``result(timeout)`` and ``cancel()``.
    """

    def __init__(self, fn: Callable[[], Any], name: str = "background run"):
        self.name = name
        self._fn = fn
        self._result: Any = None
        self.error: Optional[BaseException] = None
        self._state = PENDING
        self._cancel_requested = False
        self.buffers: list[SnapshotBuffer] = []
        self._first_buffer = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"streamscope-background-{name}", daemon=True)
        self.started_at: Optional[float] = None
        self.finished_at: Optional[float] = None
        self._callbacks: list[Callable[["RunHandle"], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, wait_for_run: bool = True) -> "RunHandle":
        """Start the thread; with ``wait_for_run`` return once the first run exists (or the action
        ended without one), so ``buffer`` can be shown right away."""
        hub().add_listener(self._on_new_run)
        self.started_at = time.time()
        self._state = RUNNING
        self._thread.start()
        if wait_for_run:
            deadline = time.monotonic() + _BUFFER_WAIT_S
            while not (self._first_buffer.is_set() or self._done.is_set()) and time.monotonic() < deadline:
                self._first_buffer.wait(0.01)
        return self

    def _on_new_run(self, buffer: SnapshotBuffer) -> None:
        if threading.current_thread() is not self._thread:
            return
        self.buffers.append(buffer)
        self._first_buffer.set()
        if self._cancel_requested:  # the run starts after a cancel: stop it as soon as it registers
            threading.Thread(target=self._cancel_runs, args=(2.0,), daemon=True).start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
            self._state = CANCELLED if self._cancel_requested and self._any_cancelled() else SUCCEEDED
        except ExecutionCancelled as exc:
            self.error, self._state = exc, CANCELLED
        except BaseException as exc:  # noqa: BLE001 - reported through the handle
            self.error = exc
            self._state = CANCELLED if self._cancel_requested else FAILED
        finally:
            self.finished_at = time.time()
            hub().remove_listener(self._on_new_run)
            self._done.set()
            for callback in list(self._callbacks):
                try:
                    callback(self)
                except Exception:  # a broken view must not hide the run's outcome
                    pass

    def _any_cancelled(self) -> bool:
        return any((b.latest() is not None and b.latest().state == "cancelled") for b in self.buffers)

    # -- the public surface ------------------------------------------------------------------------
    @property
    def buffer(self) -> Optional[SnapshotBuffer]:
        return self.buffers[-1] if self.buffers else None

    @property
    def run_id(self) -> Optional[str]:
        return self.buffer.run_id if self.buffer is not None else None

    @property
    def thread(self) -> threading.Thread:
        """The thread the action runs on (runs created on it belong to this handle)."""
        return self._thread

    def add_done_callback(self, fn: Callable[["RunHandle"], None]) -> None:
        """Call ``fn(handle)`` on the handle's thread once the action ended (at once if it has)."""
        if self.done:
            fn(self)
        else:
            self._callbacks.append(fn)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def state(self) -> str:
        return self._state

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the action ended; True when it has."""
        return self._done.wait(timeout)

    def result(self, timeout: Optional[float] = None) -> Any:
        """The action's return value; raises its error, or ``TimeoutError``.

        Interrupting this wait (Ctrl-C, the notebook's interrupt) cancels the run: a user who
        stops waiting for a result no longer wants it computed.
        """
        try:
            finished = self._done.wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            raise
        if not finished:
            raise TimeoutError(f"{self.name} still running after {timeout}s")
        if self.error is not None:
            raise self.error
        return self._result

    def cancel(self, timeout: float = 2.0) -> bool:
        """Ask every run of this handle to stop; returns True once the action has ended (waits up
        to ``timeout``, which a cancel normally needs well under a second of)."""
        if self.done:
            return True
        self._cancel_requested = True
        self._cancel_runs(timeout)
        return self._done.wait(timeout)

    def _cancel_runs(self, timeout: float) -> None:
        """Cancel through the registry; retry briefly, since a run registers only once its executor
        thread starts (a cancel can arrive between the buffer's creation and that moment)."""
        deadline = time.monotonic() + timeout
        while not self.done:
            pending = [b.run_id for b in self.buffers if not b.finished]
            active = set(run_registry.active_runs())
            for run_id in pending:
                if run_id in active:
                    run_registry.cancel_run(run_id)
            if self._done.wait(0.02) or time.monotonic() > deadline:
                return

    def __repr__(self) -> str:
        run = f" {self.run_id}" if self.run_id else ""
        err = f": {self.error}" if self.error is not None and self._state == FAILED else ""
        return f"<RunHandle {self.name!r}{run} {self._state}{err}>"


def _consume(ds: Any) -> int:
    """Stream every block through and drop it (each is freed as it arrives); returns the rows."""
    rows = 0
    for table in ds._iter_tables():
        rows += table.num_rows
    return rows


def run_action(ds: Any, action: str = "materialize") -> Any:
    """Consume ``ds`` with ``action`` (one of :data:`ACTIONS`) on the calling thread."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if action == "consume":
        return _consume(ds)
    return getattr(ds, action)()


def run_in_background(ds: Any, action: str = "materialize", name: Optional[str] = None) -> RunHandle:
    """Consume ``ds`` on a thread with ``action`` (one of :data:`ACTIONS`) and return its handle
    once the run has started; the caller keeps working while it streams."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    plan = getattr(ds, "_plan", None)
    label = name or getattr(ds, "_name", None) or (plan.dag.name if plan is not None else action)
    return RunHandle(lambda: run_action(ds, action), name=label).start()


def run_callable_in_background(fn: Callable[[], Any], name: str = "background cell") -> RunHandle:
    """Run any callable on a thread; every execution it starts belongs to the handle."""
    return RunHandle(fn, name=name).start()


__all__ = ["RunHandle", "run_action", "run_in_background", "run_callable_in_background", "ACTIONS"]
