"""A runtime that runs tasks on threads of the driver process and keeps blocks in a dict.

Why it exists: small plans (a ``take(5)`` on a ``range``) finish faster without crossing a
process boundary, and the executor's own tests can run against it. It implements the same
:class:`Runtime` contract as the process pool, so anything that passes here must pass there.

A task's ``DataContext`` (its run's) is current in the thread that runs it only: the driver's own
threads, and tasks of other runs on neighbouring threads, keep theirs.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import cloudpickle
import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.context import use_context
from streamscope.engine.error_retry import stop_retrying_when
from streamscope.engine.runtime.base import (
    ACTOR_ALIVE,
    ACTOR_DEAD,
    ACTOR_FAILED,
    ACTOR_STARTING,
    ActorHandle,
    ActorSpec,
    ActorState,
    BlockRef,
    FunctionHandle,
    Resources,
    Runtime,
    StoreStats,
    TaskHandle,
    TaskResult,
    TaskSpec,
    node_memory_budget,
)
from streamscope.engine.runtime.fair_queue import FairTaskQueue
from streamscope.engine.runtime.gpu import GpuPool, detect_gpu_ids
from streamscope.engine.runtime import pickling
from streamscope.engine.runtime.task_runner import error_from_exception, run_task


@dataclass(frozen=True, slots=True)
class InProcessBlockRef(BlockRef):
    block_id: int


class InProcessRuntime(Runtime):
    name = "inprocess"

    def __init__(self, num_threads: int = 2):
        super().__init__()
        self._num_threads = num_threads
        self._pool: ThreadPoolExecutor | None = None
        self._blocks: dict[InProcessBlockRef, pa.Table] = {}
        self._fns: dict[str, Any] = {}
        self._ids = itertools.count()
        self._done: list[tuple[TaskHandle, TaskResult]] = []
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        """Signalled when a result joins ``_done``; shares ``_lock`` with the cancel bookkeeping,
        so a result is either dropped by ``cancel`` or was never reported: never both, never lost."""
        self._cancelled: set[int] = set()
        self._actors: dict[int, _ThreadActor] = {}
        self._gpus = GpuPool([])
        self._queue = FairTaskQueue()
        self._running_by_run: Counter[str] = Counter()

    def ensure_started(self, context: Any = None) -> None:
        if self._gpus.in_use() == 0:
            ids, fake = detect_gpu_ids(context)
            if ids != self._gpus.ids:
                self._gpus = GpuPool(ids, fake)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._num_threads, thread_name_prefix="streamscope-inproc")

    def register_function(self, fn, name: str = "") -> FunctionHandle:
        fn_id = f"fn-{next(self._ids)}"
        # Round-trip through cloudpickle so functions that would not pickle fail here, as they
        # would on the process pool, instead of only failing there.
        self._fns[fn_id] = cloudpickle.loads(pickling.dumps(fn))
        return FunctionHandle(fn_id, name or getattr(fn, "__name__", "fn"))

    def release_function(self, handle: FunctionHandle) -> None:
        self._fns.pop(handle.fn_id, None)

    def submit(self, spec: TaskSpec) -> TaskHandle:
        if spec.actor is not None:
            return self.submit_actor_task(spec.actor, spec)
        self.ensure_started()
        handle = TaskHandle(next(self._ids), spec)
        assert self._pool is not None
        with self._lock:
            self._queue.push(handle, 1)
        self._pool.submit(self._run_next)
        return handle

    def _run_next(self) -> None:
        """One pool thread's turn: run the task the fair queue picks (not necessarily the one
        whose submit queued this turn), so runs share the threads as they share worker processes."""
        with self._lock:
            entry = self._queue.pop_next(self._running_by_run)
            if entry is None:
                return  # its task was cancelled before it started
            handle = entry[0]
            self._running_by_run[handle.spec.run_id] += 1
        try:
            self._run(handle)
        finally:
            with self._lock:
                self._running_by_run[handle.spec.run_id] -= 1
                if self._running_by_run[handle.spec.run_id] <= 0:
                    del self._running_by_run[handle.spec.run_id]

    def _run(self, handle: TaskHandle, fn: Any = None) -> None:
        spec = handle.spec
        inputs = (self.get(ref) for ref in spec.inputs)
        # a cancelled task cannot be interrupted on its thread: it stops retrying errors instead
        with stop_retrying_when(lambda: handle.task_id in self._cancelled):
            result = self._run_body(handle, fn, inputs)
        if result.error is None and spec.free_inputs:
            self.free(spec.inputs)
        with self._lock:
            cancelled = handle.task_id in self._cancelled
            self._cancelled.discard(handle.task_id)
            if not cancelled:
                self._report(handle, result)
        if cancelled:
            self.free([ref for ref, _ in result.outputs])

    def _run_body(self, handle: TaskHandle, fn: Any, inputs: Any) -> TaskResult:
        spec = handle.spec
        return run_task(
            fn if fn is not None else self._fns[spec.fn.fn_id],
            spec.payload,
            inputs,
            operator=spec.operator,
            task_index=handle.task_id,
            max_block_bytes=spec.max_block_bytes,
            put=self._put_table,
            worker=f"actor-{spec.actor.actor_id}" if spec.actor is not None else "driver-thread",
            data_context=spec.context,  # this thread only: other runs and the user's code share the process
        )

    def _report(self, handle: TaskHandle, result: TaskResult) -> None:
        """Queue a result for ``_collect`` (call with ``_lock`` held)."""
        self._done.append((handle, result))
        self._finished.notify_all()

    def _collect(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        with self._lock:
            if not self._done and timeout > 0:
                self._finished.wait(timeout)
            out, self._done = self._done, []
            return out

    def cancel(self, handles: Sequence[TaskHandle]) -> None:
        ids = {h.task_id for h in handles}
        with self._lock:
            never_started = {task_id for task_id in ids if self._queue.remove(task_id) is not None}
            finished = {h.task_id for h, _ in self._done if h.task_id in ids}  # not yet collected
            dropped = [r for h, r in self._done if h.task_id in finished]
            self._done = [(h, r) for h, r in self._done if h.task_id not in finished]
            # only tasks still running (or waiting in an actor's inbox) are remembered, until they end
            self._cancelled.update(ids - never_started - finished)
        self.free([ref for result in dropped for ref, _ in result.outputs])

    def _put_table(self, table: pa.Table) -> InProcessBlockRef:
        ref = InProcessBlockRef(next(self._ids))
        with self._lock:
            self._blocks[ref] = table
        return ref

    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        return self._put_table(table), BlockMetadata.of(table)

    def get(self, ref: BlockRef) -> pa.Table:
        with self._lock:
            try:
                return self._blocks[ref]  # type: ignore[index]
            except KeyError:
                raise KeyError(f"block {ref} was freed or never existed") from None

    def free(self, refs: Sequence[BlockRef]) -> None:
        with self._lock:
            for ref in refs:
                self._blocks.pop(ref, None)  # type: ignore[arg-type]

    def total_resources(self) -> Resources:
        return Resources(cpu=float(self._num_threads), gpu=self._gpus.total, memory=node_memory_budget(0))

    # ---- actors: objects served by their own thread ------------------------------------------
    def start_actor(self, spec: ActorSpec) -> ActorHandle:
        self._gpus.check(spec.resources.gpu, f"an actor of {spec.operator or spec.fn.name}")
        ids = self._gpus.allocate(spec.resources.gpu)
        if ids is None:
            raise RuntimeError(f"no GPU capacity free for num_gpus={spec.resources.gpu:g} now")
        handle = ActorHandle(next(self._ids), spec, ids)
        actor = _ThreadActor(self, handle, self._fns[spec.fn.fn_id])
        with self._lock:
            self._actors[handle.actor_id] = actor
        actor.thread.start()
        return handle

    def submit_actor_task(self, actor: ActorHandle, spec: TaskSpec) -> TaskHandle:
        spec.actor = actor
        handle = TaskHandle(next(self._ids), spec)
        with self._lock:
            target = self._actors.get(actor.actor_id)
            if target is not None and target.state not in (ACTOR_DEAD, ACTOR_FAILED):
                target.pending += 1
                target.inbox.put(handle)
                return handle
            error = target.error if target is not None else None
        if error is None:
            error = error_from_exception(spec.operator, RuntimeError(f"{actor} is not running"))
            error.system = True
        with self._lock:
            self._report(handle, TaskResult(error=error))
        return handle

    def kill_actor(self, actor: ActorHandle) -> None:
        with self._lock:
            target = self._actors.get(actor.actor_id)
        if target is not None:
            target.stop()

    def actor_state(self, actor: ActorHandle) -> ActorState:
        with self._lock:
            target = self._actors.get(actor.actor_id)
            if target is None:
                return ActorState(ACTOR_DEAD)
            return ActorState(target.state, target.pending, None, 0, actor.gpu_ids, target.error)

    def actor_resources(self) -> Resources:
        with self._lock:
            live = [a.handle.spec.resources for a in self._actors.values() if a.state not in (ACTOR_DEAD, ACTOR_FAILED)]
        held = Resources(cpu=0.0, gpu=0.0)
        for res in live:
            held = held + res
        return held

    def store_stats(self) -> StoreStats:
        with self._lock:
            used = sum(t.nbytes for t in self._blocks.values())
            n = len(self._blocks)
        return StoreStats(capacity_bytes=0, in_memory_bytes=used, num_blocks=n, backend="memory")

    def shutdown(self) -> None:
        with self._lock:
            actors = list(self._actors.values())
            self._actors.clear()
        for actor in actors:
            actor.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        with self._lock:
            self._blocks.clear()


class _ThreadActor:
    """An actor of the in-process runtime: its own copy of the function (so its state is its
    own), constructed and then served by one thread, tasks in submission order."""

    def __init__(self, runtime: InProcessRuntime, handle: ActorHandle, fn: Any):
        self.rt = runtime
        self.handle = handle
        self.fn = cloudpickle.loads(pickling.dumps(fn))
        self.state = ACTOR_STARTING
        self.error = None
        self.pending = 0
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.thread = threading.Thread(target=self._serve, name=f"streamscope-actor-{handle.actor_id}", daemon=True)

    def stop(self) -> None:
        with self.rt._lock:
            if self.state not in (ACTOR_FAILED,):
                self.state = ACTOR_DEAD
            gpu_ids, self.handle.gpu_ids = self.handle.gpu_ids, ()
        self.rt._gpus.release(gpu_ids, self.handle.spec.resources.gpu)
        self.inbox.put(None)

    def _serve(self) -> None:
        init = getattr(self.fn, "init_actor", None)
        try:
            if init is not None:
                with use_context(self.handle.spec.context):
                    init()
        except Exception as exc:  # noqa: BLE001 - reported through actor_state and queued tasks
            # Failed before stopped, in one step: a pool that looked in between saw a *dead* actor
            # and started a replacement (a second constructor call per actor, not a fail-fast).
            with self.rt._lock:
                self.error = error_from_exception(self.handle.spec.operator, exc)
                self.state = ACTOR_FAILED
            self.stop()
        else:
            with self.rt._lock:
                if self.state == ACTOR_STARTING:
                    self.state = ACTOR_ALIVE
        while True:
            handle = self.inbox.get()
            if handle is None:
                return
            if self.state == ACTOR_ALIVE:
                self.rt._run(handle, self.fn)
            elif self.state == ACTOR_FAILED:
                with self.rt._lock:
                    self.rt._report(handle, TaskResult(error=self.error))
            with self.rt._lock:
                self.pending -= 1
