"""LocalRuntime: the embedded runtime — a warm worker-process pool plus a shared-memory store.

Why it is shaped this way:

* Tasks run in other processes so user code gets every core and a crash in native code takes
  down one worker, not the notebook kernel.
* Blocks never travel through pipes. A worker writes its outputs as Arrow IPC files into the
  session's tmpfs directory and reports only ``(block_id, BlockMetadata)``; readers map the files
  zero-copy. The executor holds :class:`LocalBlockRef` ids and never sees a path.
* Any number of runs share it: each run's executor thread submits and cancels through its own
  :class:`~streamscope.engine.runtime.run_channel.RunChannel`; one thread at a time collects
  (``_collect`` blocks in ``multiprocessing.connection.wait`` over the busy workers' pipes and
  every worker's sentinel, so a result or a death wakes it at once with no polling) and the
  result router deals what arrived to each run. Queued tasks wait in a
  :class:`~streamscope.engine.runtime.fair_queue.FairTaskQueue`, so a free worker goes to the run
  with the fewest tasks running. ``put``/``get``/``free``/``store_stats``/``workers`` are safe
  from any thread.
* Failures are contained here: a dead worker's attempt is cleaned up and resubmitted (up to
  ``TaskSpec.max_retries``, -1 without limit), a user exception is reported once and never
  re-run here (a task function retries the errors its rules name itself,
  ``transforms/udf_retry.py``), and every
  submitted task yields exactly one result unless it was cancelled.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import Counter
from multiprocessing.connection import wait as wait_for_objects
from typing import Any, Optional, Sequence

import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import ObjectStoreFullError, WorkerCrashedError
from streamscope.engine.runtime.local.memory_limit import MemoryWatchdog, task_memory_limit
from streamscope.engine.runtime.base import (
    declared_resources,
    node_memory_budget,
    BlockRef,
    FunctionHandle,
    Resources,
    Runtime,
    StoreStats,
    TaskError,
    TaskHandle,
    TaskResult,
    TaskSpec,
    TaskStats,
    WorkerInfo,
    ActorHandle,
    ActorSpec,
    ActorState,
)
from streamscope.engine.runtime import context_shipping, pickling
from streamscope.engine.runtime.local import blockfile, protocol, session_dir
from streamscope.engine.runtime.gpu import GpuPool, cuda_env, detect_gpu_ids
from streamscope.engine.runtime.gpu import gpu_stats as _gpu_stats
from streamscope.engine.runtime.local.actors import ActorManager, pick_worker
from streamscope.engine.runtime.local.pool import Worker, WorkerPool, exit_code_of_dying
from streamscope.engine.runtime.local.refs import LocalBlockRef, block_id_of
from streamscope.engine.runtime.local.started_session import StartedSession, TaskAttempt
from streamscope.engine.runtime.local.store import BlockStore
from streamscope.engine.runtime.local.wakeup import WakeupPipe
from streamscope.engine.runtime.local.worker import attach_exception
from streamscope.engine.runtime.local.streamed_outputs import (
    StreamedOutputs,
    delete_unheld_task_files,
    delete_unreported_attempt_files,
)
from streamscope.engine.runtime.fair_queue import FairTaskQueue
from streamscope.engine.runtime.task_runner import error_from_exception


class LocalRuntime(Runtime):
    """Warm worker processes and a tmpfs block store with spill, on this machine.

    Arguments left as ``None`` come from the DataContext given to :meth:`ensure_started` (and are
    re-read there, so changes take effect at the next execution); given ones override it.

    :param num_workers: worker processes (default ``DataContext.resolved_num_workers()``).
    :param store_capacity: bytes of blocks kept in memory before spilling
        (default ``DataContext.resolved_store_capacity()``).
    :param spill_dir: parent directory of the spill folder (default ``DataContext.spill_dir``,
        else the temp dir).
    :param shm_root: tmpfs mount for the store (``/dev/shm``).
    :param start_method: ``"forkserver"`` (default) or ``"spawn"``.
    :param free_bytes_fn: ``fn(path) -> free bytes``, to test the disk fallback.
    :param resources: custom resources this machine offers, ``{"name": amount}`` (as
        ``ray.init(resources=...)``): maps asking ``resources={"name": n}`` are counted against them.
    :param memory: bytes available to ``memory=`` requests (as ``ray.init(memory=...)``; default:
        physical memory less the store's capacity).
    """

    name = "local"

    def __init__(
        self,
        num_workers: Optional[int] = None,
        store_capacity: Optional[int] = None,
        spill_dir: Optional[str] = None,
        *,
        shm_root: str = session_dir.DEFAULT_SHM_ROOT,
        start_method: Optional[str] = None,
        free_bytes_fn: Any = None,
        resources: Optional[dict] = None,
        memory: Optional[float] = None,
    ):
        super().__init__()
        self._custom = declared_resources(resources)
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, (int, float)) or memory <= 0):
            raise ValueError(f"memory must be a positive number of bytes, got {memory!r}")
        self._memory = float(memory) if memory is not None else None
        self._num_workers = num_workers
        self._store_capacity = store_capacity
        self._spill_dir = spill_dir
        self._shm_root = shm_root
        self._start_method = start_method
        self._free_bytes_fn = free_bytes_fn or session_dir.free_bytes
        self._state = StartedSession()
        # Runs at interpreter exit too (atexit), so workers and tmpfs files never outlive us.
        self._finalizer = weakref.finalize(self, self._state.close)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._fn_bytes: dict[str, bytes] = {}
        self._queue = FairTaskQueue()
        self._running: dict[int, TaskAttempt] = {}
        self._memory_watchdog = MemoryWatchdog(lambda: list(self._running.values()))
        self._done: list[tuple[TaskHandle, TaskResult]] = []
        self._streamed = StreamedOutputs()
        self._worker_gpus: dict[str, tuple] = {}
        """Device ids each worker process has run GPU tasks with (see ``_pick_worker``)."""
        self._waiting = False
        self._wakeup = WakeupPipe()

    # ---- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self, context: Any = None) -> None:
        if context is None:
            context = DataContext.get_current()
        num_workers = self._num_workers or context.resolved_num_workers()
        capacity = self._store_capacity or context.resolved_store_capacity()
        spill_parent = self._spill_dir or context.resolved_spill_dir()
        with self._lock:
            state = self._state
            if state.store is None:
                user = session_dir.current_user()
                parent, kind = session_dir.choose_store_parent(capacity, self._shm_root, self._free_bytes_fn)
                session_dir.sweep_dead_sessions(
                    [self._shm_root, session_dir.temp_root(), parent, spill_parent], user
                )
                directory = session_dir.make_session_dir(parent, session_dir.STORE_PREFIX, user)
                state.store = BlockStore(directory, kind, capacity, spill_parent, user)
            else:
                state.store.set_spill_parent(spill_parent)
                if capacity != state.store.capacity:
                    state.store.set_capacity(capacity)
            if state.gpus.in_use() == 0:  # re-read GPU settings while no device is handed out
                ids, fake = detect_gpu_ids(context)
                if ids != state.gpus.ids or fake != state.gpus.fake:
                    state.gpus = GpuPool(ids, fake)
                    if state.actors is not None:
                        state.actors.gpus = state.gpus
            if state.pool is None:
                state.pool = WorkerPool(num_workers, self._start_method)
                state.pool.start()
                state.actors = ActorManager(self, self._start_method, state.gpus)
            elif num_workers != state.pool.size:
                state.pool.resize(num_workers)

    def shutdown(self) -> None:
        with self._lock:
            self._queue.clear()
            self._running.clear()
            self._done.clear()
            self._wake_waiter()
            self._state.close()

    # ---- functions -----------------------------------------------------------------------------
    def register_function(self, fn, name: str = "") -> FunctionHandle:
        fn_bytes = pickling.dumps(fn, protocol=protocol.PROTOCOL)  # tracebacks keep the user's file names
        fn_id = f"fn-{next(self._ids)}"
        with self._lock:
            self._fn_bytes[fn_id] = fn_bytes
        return FunctionHandle(fn_id, name or getattr(fn, "__name__", "fn"))

    def release_function(self, handle: FunctionHandle) -> None:
        with self._lock:
            self._fn_bytes.pop(handle.fn_id, None)
            if self._state.pool is not None:
                self._state.pool.forget_function(handle.fn_id)

    # ---- tasks ---------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> TaskHandle:
        for ref in spec.inputs:
            if not isinstance(ref, LocalBlockRef):
                raise TypeError(f"{self.name} runtime got a {type(ref).__name__} input; expected LocalBlockRef")
        if self._state.pool is None:
            self.ensure_started()
        if spec.actor is not None:
            return self.submit_actor_task(spec.actor, spec)
        handle = TaskHandle(next(self._ids), spec)
        with self._lock:
            self._queue.push(handle, 1)
            self._dispatch()
            self._wake_waiter()
        return handle

    def _collect(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                pool = self._state.pool
                if pool is not None:
                    pool.close_dead()
                if self._done:
                    done, self._done = self._done, []
                    return done
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                objects = pool.wait_objects() if pool is not None else []
                if self._state.actors is not None:
                    objects += self._state.actors.wait_objects()
                # Set under the same lock as the snapshot: a submit or cancel from another
                # thread after this point sees the flag and wakes us to take a new snapshot.
                self._waiting = True
            try:
                ready = wait_for_objects([self._wakeup.read_fd, *objects], remaining)
            except (OSError, ValueError):  # shut down from another thread while we waited
                ready = []
            with self._lock:
                self._waiting = False
                for obj in ready:
                    if obj == self._wakeup.read_fd:
                        self._wakeup.drain()
                    else:
                        self._on_ready(obj)

    def cancel(self, handles: Sequence[TaskHandle]) -> None:
        ids = {h.task_id for h in handles}
        with self._lock:
            if self._state.actors is not None:
                self._state.actors.cancel(ids)
            victims = []
            for task_id in ids:
                self._streamed.finished(task_id)
                if self._queue.remove(task_id) is None and task_id in self._running:
                    victims.append(self._running.pop(task_id))
            kept = []
            for handle, result in self._done:  # finished but not yet collected: drop and free
                if handle.task_id in ids:
                    self._free_ids([r.block_id for r, _ in result.outputs])  # type: ignore[attr-defined]
                else:
                    kept.append((handle, result))
            self._done = kept
            pool, store = self._state.pool, self._state.store
            if not victims or pool is None or store is None:
                return
            for rec in victims:
                rec.worker.current = None
            pool.kill([rec.worker for rec in victims])
            for rec in victims:
                store.unpin(rec.input_ids)
                self._release_gpus(rec)
                self._delete_attempt_files(rec.handle.task_id, rec.attempt)
            pool.refill()
            self._dispatch()
            self._wake_waiter()

    # ---- blocks ---------------------------------------------------------------------------------
    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        block_id = self._store().put(table)
        return LocalBlockRef(block_id), BlockMetadata.of(table)

    def get(self, ref: BlockRef) -> pa.Table:
        return self._store().get(block_id_of(ref))

    def free(self, refs: Sequence[BlockRef]) -> None:
        self._free_ids([block_id_of(r) for r in refs])

    def total_resources(self) -> Resources:
        """Worker slots as CPUs, the GPUs, the node's memory budget for ``memory=`` requests (the
        ``memory`` given, else physical memory less the block store's capacity, which lives in
        RAM too) and the custom resources declared with ``streamscope.init(resources=...)``."""
        pool = self._state.pool
        workers = pool.size if pool is not None else (self._num_workers or _default_workers())
        store = self._state.store
        memory = self._memory if self._memory is not None else node_memory_budget(store.capacity if store else 0)
        return Resources(cpu=float(workers), gpu=self._state.gpus.total, memory=memory, custom=self._custom)

    def gpu_stats(self) -> list[dict]:
        return _gpu_stats(self._state.gpus)

    def sweep_task_files(self, task_ids: "set[int]") -> None:
        store = self._state.store
        if store is not None and task_ids:
            delete_unheld_task_files(store, task_ids)

    def _output_writers(self, pool: Any) -> int:
        """Processes that may be writing task outputs at once: the pool's workers and the actors."""
        actors = self._state.actors
        return (pool.size if pool is not None else 1) + (len(actors.actors) if actors is not None else 0)

    # ---- actors -----------------------------------------------------------------------------------
    def _actors(self) -> ActorManager:
        if self._state.actors is None:
            self.ensure_started()
        assert self._state.actors is not None
        return self._state.actors

    def start_actor(self, spec: ActorSpec) -> ActorHandle:
        with self._lock:
            handle = self._actors().start(spec)
            self._wake_waiter()
            return handle

    def submit_actor_task(self, actor: ActorHandle, spec: TaskSpec) -> TaskHandle:
        spec.actor = actor
        handle = TaskHandle(next(self._ids), spec)
        with self._lock:
            self._actors().submit(actor, handle)
            self._wake_waiter()
        return handle

    def kill_actor(self, actor: ActorHandle) -> None:
        with self._lock:
            if self._state.actors is not None:
                self._state.actors.kill(actor)
                self._wake_waiter()

    def actor_state(self, actor: ActorHandle) -> ActorState:
        with self._lock:
            manager = self._actors()
            manager.poll()
            return manager.state(actor)

    def actor_resources(self) -> Resources:
        with self._lock:
            actors = self._state.actors
            return actors.held_resources() if actors is not None else Resources(cpu=0.0, gpu=0.0)

    def spilled_bytes_by_task(self, task_ids: Sequence[int]) -> dict[int, int]:
        store = self._state.store
        return store.spilled_bytes_by_task(task_ids) if store is not None else {}

    def store_stats(self) -> StoreStats:
        store = self._state.store
        return store.stats() if store is not None else StoreStats(backend="not started")

    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            pool = self._state.pool
            if pool is None:
                return []
            return [
                WorkerInfo(w.worker_id, w.pid, w.current is not None, kind=pool.kind)
                for w in pool.workers.values()
            ]

    @property
    def store(self) -> Optional[BlockStore]:
        """The block store (tests and diagnostics)."""
        return self._state.store

    @property
    def pool(self) -> Optional[WorkerPool]:
        """The worker pool (tests and diagnostics)."""
        return self._state.pool

    # ---- internals (call with self._lock held) ---------------------------------------------------
    def _store(self) -> BlockStore:
        if self._state.store is None:
            self.ensure_started()
        assert self._state.store is not None
        return self._state.store

    def _free_ids(self, block_ids: list[str]) -> None:
        store = self._state.store
        if store is not None and block_ids:
            store.free(block_ids)

    def _wake_waiter(self) -> None:
        """A ``wait`` blocked in another thread watches a stale set of pipes; make it look again."""
        if self._waiting:
            self._wakeup.wake()

    def _dispatch(self) -> None:
        pool, store = self._state.pool, self._state.store
        if pool is None or store is None:
            return
        waiting_for_gpus: set[str] = set()
        while self._queue and pool.idle:
            running = Counter(rec.handle.spec.run_id for rec in self._running.values())
            entry = self._queue.pop_next(running, skip=waiting_for_gpus)
            if entry is None:
                return
            handle, attempt = entry
            task_id = handle.task_id
            spec = handle.spec
            fn_bytes = self._fn_bytes.get(spec.fn.fn_id)
            if fn_bytes is None:
                self._fail(handle, attempt, RuntimeError(f"function {spec.fn.name!r} was released or never registered"), system=True)
                continue
            gpu_ids: Optional[tuple] = ()
            if spec.resources.gpu > 0:
                try:
                    self._state.gpus.check(spec.resources.gpu, f"a task of {spec.operator}")
                except ValueError as exc:
                    self._fail(handle, attempt, exc, system=True)
                    continue
                gpu_ids = self._state.gpus.allocate(spec.resources.gpu)
                if gpu_ids is None:  # devices busy: this run waits for a release, keeping its
                    self._queue.push(handle, attempt, front=True)  # order; other runs go on
                    waiting_for_gpus.add(spec.run_id)
                    continue
            input_ids = [ref.block_id for ref in spec.inputs]  # type: ignore[attr-defined]
            try:
                paths = store.pin_for_read(input_ids)
            except KeyError as exc:
                self._state.gpus.release(gpu_ids or (), spec.resources.gpu)
                self._fail(handle, attempt, KeyError(f"input of a {spec.operator} task: {exc.args[0]}"), system=True)
                continue
            try:
                message = protocol.encode((
                    protocol.TASK, task_id, attempt, spec.fn.fn_id, protocol.encode_payload(spec.payload), paths, spec.operator,
                    spec.max_block_bytes, store.directory, store.spill_dir_path(), cuda_env(gpu_ids or ()),
                    self._streamed.task_args(spec, task_id), context_shipping.pack(spec.context),
                    store.unreported_output_allowance(self._output_writers(pool)), store.spill_dirs(),
                ))
            except Exception as exc:  # an unpicklable payload is the caller's error, not a crash
                store.unpin(input_ids)
                self._state.gpus.release(gpu_ids or (), spec.resources.gpu)
                self._fail(handle, attempt, exc, system=False)
                continue
            worker = pick_worker(pool, self._worker_gpus, gpu_ids)
            rec = TaskAttempt(handle, attempt, worker, input_ids, gpu_ids)
            worker.current = rec
            self._running[task_id] = rec
            if task_memory_limit(rec):
                self._memory_watchdog.wake()
            pool.send_task(worker, spec.fn.fn_id, fn_bytes, message)

    def _on_ready(self, obj: Any) -> None:
        pool = self._state.pool
        worker = pool.worker_for(obj) if pool is not None else None
        if worker is None:
            if self._state.actors is not None:
                self._state.actors.on_ready(obj)
            return  # an actor's, or a worker already killed (cancel) or handled in this round
        alive = self._drain(worker)
        if not alive or obj == worker.sentinel:
            self._on_death(worker)

    def _drain(self, worker: Worker) -> bool:
        """Handle every message waiting on the worker's pipe; False when the pipe is closed."""
        pool = self._state.pool
        try:
            # a handler may kill the worker (its output could not be stored): stop reading then,
            # or its next message would hand a dead worker back to the idle list
            while pool is not None and worker.worker_id in pool.workers and worker.conn.poll():
                message = protocol.decode(worker.conn.recv_bytes())
                if message[0] == protocol.DONE:
                    self._on_done(worker, message)
                elif message[0] == protocol.PARTIAL:
                    self._on_partial(worker, message)
        except (EOFError, OSError):
            return False
        return True

    def _on_partial(self, worker: Worker, message: tuple) -> None:
        """One output block of a streaming task, reported while the task still runs."""
        _, task_id, attempt, (block_id, path, size, spilled), meta = message
        rec: Optional[TaskAttempt] = worker.current
        if rec is None or rec.handle.task_id != task_id or rec.attempt != attempt:
            blockfile.remove_quietly(path)  # an attempt nobody waits for any more
            return
        try:
            self._state.store.add(block_id, path, size, spilled)  # type: ignore[union-attr]
        except ObjectStoreFullError as exc:
            self._state.store.free([block_id])  # type: ignore[union-attr]  (accounted before it failed)
            blockfile.remove_quietly(path)
            self._running.pop(task_id, None)
            worker.current = None
            self._state.pool.kill([worker])  # type: ignore[union-attr]
            self._release_gpus(rec)
            self._state.store.unpin(rec.input_ids)  # type: ignore[union-attr]
            self._delete_attempt_files(task_id, attempt)
            self._fail(rec.handle, attempt, exc, system=True)
            self._state.pool.refill()  # type: ignore[union-attr]
            return
        self._streamed.reported(task_id, meta.num_rows)
        self._done.append((rec.handle, TaskResult(outputs=[(LocalBlockRef(block_id), meta)], partial=True)))

    def _on_done(self, worker: Worker, message: tuple) -> None:
        _, task_id, attempt, result, files, exception_bytes = message
        pool = self._state.pool
        assert pool is not None
        rec: Optional[TaskAttempt] = worker.current
        worker.current = None
        if rec is None or rec.handle.task_id != task_id or rec.attempt != attempt:
            for _, path, _, _ in files:  # a result nobody waits for any more
                blockfile.remove_quietly(path)
        else:
            self._running.pop(task_id, None)
            self._release_gpus(rec)
            self._complete(rec.handle, attempt, rec.input_ids, result, files, exception_bytes)
        if worker.retiring:
            pool.kill([worker])
        elif worker.worker_id in pool.workers:  # not killed while its messages were handled
            pool.idle.append(worker)
        self._dispatch()

    def _complete(self, handle: TaskHandle, attempt: int, input_ids: list[str], result: TaskResult,
                  files: list, exception_bytes: Optional[bytes]) -> None:
        """Account a finished attempt's outputs in the store and queue its result (tasks and
        actor tasks alike)."""
        attach_exception(result.error, exception_bytes)
        store = self._state.store
        assert store is not None
        store.unpin(input_ids)
        block_ids = [f[0] for f in files]
        try:
            for block_id, path, size, spilled in files:
                store.add(block_id, path, size, spilled)
        except ObjectStoreFullError as exc:
            result.error = _system_error(handle.spec.operator, exc)
        if result.error is not None:
            # Partial outputs of a failed task are useless to the caller; delete them here so
            # no caller can leak them.
            for _, path, _, _ in files:
                blockfile.remove_quietly(path)
            store.free(block_ids)
            result.outputs = []
            if result.error.type_name == ObjectStoreFullError.__name__:
                result.error.system = True
        elif handle.spec.free_inputs:
            store.free(input_ids)
        result.stats.attempts = attempt
        self._streamed.finished(handle.task_id)
        self._done.append((handle, result))

    def _on_death(self, worker: Worker) -> None:
        pool = self._state.pool
        assert pool is not None
        rec: Optional[TaskAttempt] = worker.current
        worker.current = None
        exitcode = exit_code_of_dying(worker.process)
        pool.kill([worker])  # reaps it (if it still runs) and forgets it
        if exitcode is None:
            exitcode = worker.process.exitcode
        if rec is not None:
            self._running.pop(rec.handle.task_id, None)
            self._release_gpus(rec)
            if self._state.store is not None:
                self._state.store.unpin(rec.input_ids)
            self._delete_attempt_files(rec.handle.task_id, rec.attempt)
            spec = rec.handle.spec
            if spec.max_retries < 0 or rec.attempt <= spec.max_retries:
                self._queue.push(rec.handle, rec.attempt + 1, front=True)
            else:
                how = f"was killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exited with code {exitcode}"
                if worker.kill_reason:
                    how = f"was killed because {worker.kill_reason}"
                exc = WorkerCrashedError(
                    f"worker {worker.worker_id} (pid {worker.pid}) running a task of operator "
                    f"{spec.operator!r} {how}; gave up after {rec.attempt} attempts "
                    f"(max_retries={spec.max_retries})"
                )
                self._fail(rec.handle, rec.attempt, exc, system=True)
        pool.refill()
        self._dispatch()

    def _release_gpus(self, rec: TaskAttempt) -> None:
        if rec.gpu_ids:
            self._state.gpus.release(rec.gpu_ids, rec.handle.spec.resources.gpu)
            rec.gpu_ids = ()

    def _system_error_for(self, operator: str, exc: BaseException) -> TaskError:
        return _system_error(operator, exc)

    def _fail(self, handle: TaskHandle, attempt: int, exc: BaseException, system: bool) -> None:
        error = _system_error(handle.spec.operator, exc) if system else error_from_exception(handle.spec.operator, exc)
        now = time.time()
        stats = TaskStats(started_at=now, finished_at=now, attempts=attempt)
        self._streamed.finished(handle.task_id)
        self._done.append((handle, TaskResult(outputs=[], stats=stats, error=error)))

    def _delete_attempt_files(self, task_id: int, attempt: int) -> None:
        """Remove block files a dead attempt wrote but never reported."""
        delete_unreported_attempt_files(self._state.store, task_id, attempt)


def _system_error(operator: str, exc: BaseException) -> TaskError:
    error = error_from_exception(operator, exc)
    error.system = True
    return error


def _default_workers() -> int:
    return DataContext.get_current().resolved_num_workers()
