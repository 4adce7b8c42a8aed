"""A warm pool of worker processes: start, ship functions once, kill, replace, resize.

Why warm: starting a Python process that imports pyarrow costs a few hundred milliseconds, which
would dwarf a small query. The pool starts its workers once per session and keeps them, so the
second execution dispatches to processes that are already waiting on their pipes.

Why forkserver (spawn where forkserver is missing), never plain fork: the driver is often a
Jupyter kernel with threads (the executor, ZMQ, telemetry), and forking a threaded process can
copy a lock held by another thread and deadlock the child. The forkserver is a clean,
single-threaded process that preloads the worker module (pyarrow, cloudpickle), so each new
worker is a cheap fork of it.

This module knows processes and pipes, not tasks: which task a worker runs (``Worker.current``)
is set and read by the runtime, which also decides about retries.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import threading
from collections import deque
from typing import Any, Optional

from streamscope.engine.runtime.local import protocol
from streamscope.engine.runtime.local.worker import worker_main

WORKER_MODULE = "streamscope.engine.runtime.local.worker"

_live_pools = 0
_started_forkserver = False


class Worker:
    """One worker process and the driver's end of its pipe."""

    __slots__ = ("worker_id", "process", "conn", "fns", "pending", "current", "retiring", "kill_reason")

    def __init__(self, worker_id: str, process: Any, conn: Any):
        self.worker_id = worker_id
        self.process = process
        self.conn = conn
        self.fns: set[str] = set()
        """Function ids this worker has cached."""
        self.pending: list[bytes] = []
        """Messages to send before its next task (FORGETs queued while it was busy)."""
        self.current: Any = None
        """The runtime's record of the task attempt running here (None when idle)."""
        self.retiring = False
        self.kill_reason: Optional[str] = None
        """Why the driver killed it on purpose (memory_limit.py), for the error of its task."""

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid

    @property
    def sentinel(self) -> int:
        return self.process.sentinel


class WorkerPool:
    """``size`` live worker processes; dead ones are replaced on request."""

    def __init__(self, size: int, start_method: Optional[str] = None, kind: str = "task"):
        global _live_pools
        self.size = max(1, int(size))
        self.kind = kind
        self._ctx = _context(start_method)
        self._ids = itertools.count()
        self.workers: dict[str, Worker] = {}
        self.idle: deque[Worker] = deque()
        self._by_object: dict[Any, Worker] = {}
        self._graveyard: list[Worker] = []
        self.fn_sends = 0
        """Function bodies sent to workers, all workers together (tests check "once per worker")."""
        self._stopped = False
        _live_pools += 1

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        while len(self.workers) < self.size:
            self.spawn()

    def spawn(self, target: Any = None, extra_args: tuple = ()) -> Worker:
        """Start one worker and add it to the idle set. ``target`` replaces the worker entry
        point (actor processes use their own, which takes ``extra_args`` after the usual ones)."""
        global _started_forkserver
        if self._ctx.get_start_method() == "forkserver" and not _started_forkserver:
            from multiprocessing import forkserver

            # Only a forkserver this module started is ours to stop at the last shutdown.
            server = forkserver._forkserver
            if getattr(server, "_forkserver_pid", None) is None:
                # Keep modules others asked to preload, but not '__main__': in a kernel that
                # re-imports the launcher script for nothing.
                others = [m for m in getattr(server, "_preload_modules", []) if m not in ("__main__", WORKER_MODULE)]
                self._ctx.set_forkserver_preload([*others, WORKER_MODULE])
                _started_forkserver = True
        worker_id = f"{self.kind}-worker-{next(self._ids)}"
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=target or worker_main,
            args=(child_conn, os.getpid(), worker_id, *extra_args),
            name=f"streamscope-{worker_id}",
            daemon=True,
        )
        _start_without_main(process)
        child_conn.close()
        worker = Worker(worker_id, process, parent_conn)
        self.workers[worker_id] = worker
        self._by_object[parent_conn] = worker
        self._by_object[process.sentinel] = worker
        self.idle.append(worker)
        return worker

    def kill(self, workers: list[Worker]) -> None:
        """SIGKILL these workers, reap them, and forget them. Their pipes close later (see
        :meth:`close_dead`), because another thread may be blocked waiting on them right now."""
        for worker in workers:
            try:
                worker.process.kill()
            except (OSError, ValueError):
                pass
        for worker in workers:
            worker.process.join(timeout=2.0)
            self.forget_worker(worker)

    def forget_worker(self, worker: Worker) -> None:
        if self.workers.pop(worker.worker_id, None) is None:
            return
        self._by_object.pop(worker.conn, None)
        self._by_object.pop(worker.sentinel, None)
        try:
            self.idle.remove(worker)
        except ValueError:
            pass
        self._graveyard.append(worker)

    def close_dead(self) -> None:
        """Close pipes and process handles of workers already killed and reaped."""
        graveyard, self._graveyard = self._graveyard, []
        for worker in graveyard:
            worker.conn.close()
            worker.process.join(timeout=1.0)
            try:
                worker.process.close()
            except ValueError:  # still running: keep it for the next round
                self._graveyard.append(worker)

    def refill(self) -> None:
        """Start workers until the pool has ``size`` of them again (after deaths or kills)."""
        if not self._stopped:
            self.start()

    def resize(self, size: int) -> None:
        """Grow now; shrink by stopping idle workers now and busy ones when their task ends."""
        self.size = max(1, int(size))
        surplus = len(self.workers) - self.size
        if surplus <= 0:
            self.start()
            return
        idle = list(self.idle)[:surplus]
        self.kill(idle)
        surplus -= len(idle)
        for worker in list(self.workers.values()):
            if surplus <= 0:
                break
            if not worker.retiring:
                worker.retiring = True
                surplus -= 1

    def stop(self) -> None:
        """Kill every worker (idempotent). Stops the forkserver too when it was ours and this was
        the last live pool, so a shut-down runtime leaves no helper process behind."""
        global _live_pools, _started_forkserver
        if self._stopped:
            return
        self._stopped = True
        self.kill(list(self.workers.values()))
        self.close_dead()
        _live_pools -= 1
        if _live_pools == 0 and _started_forkserver:
            from multiprocessing import forkserver

            stop = getattr(forkserver._forkserver, "_stop", None)
            if stop is not None:
                try:
                    stop()
                except OSError:
                    # at interpreter exit multiprocessing may already have removed the
                    # forkserver's socket file; the server exits on its own then
                    pass
                _started_forkserver = False

    # ---- messages ----------------------------------------------------------------------------
    def send_task(self, worker: Worker, fn_id: str, fn_bytes: bytes, task_message: bytes) -> None:
        """Send the function first if this worker has not cached it, then the task."""
        try:
            for data in worker.pending:
                worker.conn.send_bytes(data)
            worker.pending.clear()
            if fn_id not in worker.fns:
                worker.conn.send_bytes(protocol.encode((protocol.FN, fn_id, fn_bytes)))
                worker.fns.add(fn_id)
                self.fn_sends += 1
            worker.conn.send_bytes(task_message)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the worker just died; its sentinel reports it and the task is retried

    def forget_function(self, fn_id: str) -> None:
        message = protocol.encode((protocol.FORGET, fn_id))
        for worker in self.workers.values():
            if fn_id in worker.fns:
                worker.fns.discard(fn_id)
                if worker.current is None:
                    try:
                        worker.conn.send_bytes(message)
                    except OSError:
                        pass
                else:
                    worker.pending.append(message)

    # ---- lookup --------------------------------------------------------------------------------
    def worker_for(self, obj: Any) -> Optional[Worker]:
        return self._by_object.get(obj)

    def wait_objects(self) -> list[Any]:
        """What the driver blocks on: pipes of busy workers (results) and every sentinel (deaths)."""
        objects: list[Any] = []
        for worker in self.workers.values():
            if worker.current is not None:
                objects.append(worker.conn)
            objects.append(worker.sentinel)
        return objects


def exit_code_of_dying(process: Any, grace_s: float = 2.0) -> Optional[int]:
    """The exit code of a process whose pipe just closed: it closes at exit, a moment before the
    process can be reaped, so wait for it briefly instead of killing it first (which would report
    ``os._exit(3)`` as "killed by signal 9"). None if it is still running after ``grace_s``."""
    if process.exitcode is None:
        try:
            process.join(timeout=grace_s)
        except (AssertionError, ValueError):  # not started by us / already closed
            return None
    return process.exitcode


# ---- starting workers without re-running the driver's __main__ ----------------------------------
# multiprocessing's spawn and forkserver children re-import the parent's main script so pickled
# references to ``__main__`` resolve. Workers never need that (task functions are cloudpickled by
# value), and re-running a user's unguarded script in every worker would re-run their pipeline or
# fail with "An attempt has been made to start a new process before...". So while *this thread*
# starts a worker, the preparation data leaves the main module out. Other threads starting their
# own processes at the same moment see the stock behaviour.
_spawning = threading.local()
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")


def _install_preparation_filter() -> None:
    from multiprocessing import spawn

    original = spawn.get_preparation_data
    if getattr(original, "_streamscope_filter", False):
        return

    def get_preparation_data(name: str) -> dict:
        data = original(name)
        if getattr(_spawning, "without_main", False):
            for key in _MAIN_KEYS:
                data.pop(key, None)
        return data

    get_preparation_data._streamscope_filter = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = get_preparation_data


def _start_without_main(process: Any) -> None:
    _install_preparation_filter()
    _spawning.without_main = True
    try:
        process.start()
    finally:
        _spawning.without_main = False


def _context(start_method: Optional[str]) -> Any:
    if start_method == "fork":
        raise ValueError("the local runtime never uses plain fork; use 'forkserver' or 'spawn'")
    if start_method is None:
        start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(start_method)
