"""Poll a SnapshotBuffer at a bounded rate on a daemon thread and redraw only on change.

Why a thread and not an asyncio task in the kernel's loop: with ipywidgets 8 a trait assignment
sends a comm message through the kernel's IOPub socket, which ipykernel serialises on its own IOPub
thread, so widgets (and jupyter_bokeh's ``BokehModel`` document patches) update from a background
thread while the cell that started the run is still busy, or while the user runs other cells. An
asyncio task in the kernel's loop would only run between cells, so a blocking ``ds.take()`` would
freeze the view. The poller never blocks the executor: it only reads ``buffer.version`` and
``buffer.latest()``.

Guarantees: at most ``max_hz`` callbacks per second (default 10, capped at 10); no callback when
``buffer.version`` did not change; a final callback with the finished snapshot, then the thread
ends (and ``on_finish`` runs once).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot, SnapshotBuffer

MAX_HZ = 10.0
log = logging.getLogger(__name__)


class SnapshotPoller:
    """Calls ``callback(snapshot)`` when the buffer changed, at most ``max_hz`` times a second."""

    def __init__(
        self,
        buffer: SnapshotBuffer,
        callback: Callable[[ExecutionSnapshot], None],
        max_hz: float = MAX_HZ,
        on_finish: Optional[Callable[[ExecutionSnapshot], None]] = None,
        name: str = "streamscope-view-poller",
    ):
        self.buffer = buffer
        self.callback = callback
        self.interval = 1.0 / min(float(max_hz), MAX_HZ)
        self.on_finish = on_finish
        self.updates = 0
        """Number of callbacks made so far (tests read it)."""
        self._reported: set = set()
        """(what failed, exception type) already warned about, so a broken view warns once."""
        self.call_times: list[float] = []
        self._last_version = -1
        self._last_call = float("-inf")
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._name = name

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "SnapshotPoller":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop without a final update (e.g. the view was closed)."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once the final snapshot was delivered."""
        return self._finished.is_set()

    # -- polling ---------------------------------------------------------------------------------
    def poll_once(self) -> bool:
        """Deliver the latest snapshot if the buffer changed; True when the run has finished.

        Respects the rate limit: a change seen sooner than ``1/max_hz`` after the previous
        callback waits for the next poll.
        """
        version = self.buffer.version
        if version == self._last_version:
            return self._finished.is_set()
        now = time.monotonic()
        if now - self._last_call < self.interval:
            return False
        snap = self.buffer.latest()
        if snap is None:
            return False
        self._last_version = version
        self._last_call = now
        self.updates += 1
        self.call_times.append(now)
        try:
            self.callback(snap)
        except Exception as exc:  # a broken view must not kill its own poller silently mid-run
            self._report(exc, "update")
        if snap.finished:
            self._finished.set()
            if self.on_finish is not None:
                try:
                    self.on_finish(snap)
                except Exception as exc:
                    self._report(exc, "final redraw")
            return True
        return False

    def _report(self, exc: Exception, what: str) -> None:
        """One warning line per poller and kind of failure, the traceback at DEBUG.

        Why not ``log.exception``: in a notebook the warning lands under the cell the user ran,
        and a view must never fill it with tracebacks of its own (the run is unaffected); the
        line says how to see the traceback."""
        key = (what, type(exc))
        if key in self._reported:
            log.debug("streamscope view %s failed again", what, exc_info=exc)
            return
        self._reported.add(key)
        log.warning("streamscope view %s failed (the run goes on): %s: %s; the traceback is logged at DEBUG on "
                    "the 'streamscope' logger", what, type(exc).__name__, exc)
        log.debug("streamscope view %s failed", what, exc_info=exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.poll_once():
                return
            wait = max(0.0, self._last_call + self.interval - time.monotonic())
            self._stop.wait(max(wait, self.interval / 4))


def follow(buffer: SnapshotBuffer, callback, max_hz: float = MAX_HZ, on_finish=None) -> SnapshotPoller:
    """Start a poller thread for ``buffer`` and return it."""
    return SnapshotPoller(buffer, callback, max_hz=max_hz, on_finish=on_finish).start()
