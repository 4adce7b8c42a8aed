"""The per-worker memory limit: a pool worker whose task allocates past
``DataContext.worker_memory_limit_bytes`` is killed, and its task retried like a crash.

Why a watchdog thread in the driver and not ``setrlimit`` in the worker: an address-space or data
limit counts virtual reservations (allocator arenas, thread stacks, memory-mapped blocks), so it
fails tasks that use little memory and lets a real overuse surface as a ``MemoryError`` deep in a
library, after which the worker's state is doubtful. The driver instead reads what the task has
really allocated (Linux's ``RssAnon``: private anonymous pages; the blocks a task maps from the
store are file pages and do not count) and kills the worker outright, which the runtime already
survives: the attempt's files are deleted, its inputs unpinned and the task retried, and once the
retries are used up the run fails with an error naming the limit.

The limit is a setting of the run (``TaskSpec.context``), so runs with different limits can share
the pool. Polling means a task may briefly pass the limit before it is stopped; the limit
protects the machine from runaway tasks, it is not an exact quota.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable, Optional

POLL_INTERVAL_S = 0.05


def private_memory_bytes(pid: int) -> Optional[int]:
    """Private (anonymous) resident memory of process ``pid``, or None when it is gone.

    Examples:
        >>> private_memory_bytes(os.getpid()) > 0
        True
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:  # not Linux (or no RssAnon): the unique set size is the nearest measure
        import psutil

        return int(psutil.Process(pid).memory_full_info().uss)
    except Exception:
        return None


def task_memory_limit(rec: Any) -> Optional[int]:
    """The limit that applies to a running task attempt, from its run's DataContext."""
    context = getattr(rec.handle.spec, "context", None)
    limit = getattr(context, "worker_memory_limit_bytes", None)
    return int(limit) if limit else None


class MemoryWatchdog:
    """Polls the workers running limited tasks while any run; kills the ones past their limit.

    ``running`` returns the runtime's current task attempts (each with ``.worker`` and
    ``.handle.spec``); it is called from the watchdog thread, so it must return a copy.

    Examples:
        >>> watchdog = MemoryWatchdog(lambda: [])
        >>> watchdog.wake()      # nothing limited is running: the thread ends at once
        >>> watchdog.stop()
    """

    def __init__(self, running: Callable[[], list], interval_s: float = POLL_INTERVAL_S):
        self._running = running
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stopped = threading.Event()

    def wake(self) -> None:
        """Make sure the thread runs (call after dispatching a task that has a limit)."""
        with self._lock:
            if self._stopped.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._loop, name="streamscope-memory-limit", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            limited = [(rec, limit) for rec in self._running() if (limit := task_memory_limit(rec))]
            if not limited:
                with self._lock:
                    # re-checked under the lock so a wake() racing this exit starts a new thread
                    if not any(task_memory_limit(rec) for rec in self._running()):
                        self._thread = None
                        return
                continue
            for rec, limit in limited:
                self._check(rec, limit)
            self._stopped.wait(self._interval_s)

    @staticmethod
    def _check(rec: Any, limit: int) -> None:
        worker = rec.worker
        pid = worker.pid
        used = private_memory_bytes(pid) if pid else None
        if used is None or used <= limit or worker.current is not rec:
            return
        worker.kill_reason = (f"it used {used >> 20} MiB of private memory, past "
                              f"DataContext.worker_memory_limit_bytes={limit >> 20} MiB")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
