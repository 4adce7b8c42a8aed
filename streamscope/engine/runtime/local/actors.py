"""Actors of the local runtime: long-lived processes that each keep one function's state.

How an actor works: a dedicated process (not one of the task pool's workers, so actors never take
slots the task stages need) runs :mod:`actor_process`, receives its function once, constructs it
on ACTOR_INIT, then runs TASK messages in the order they were sent. Several tasks may be queued on
its pipe at once, so when it finishes one batch the next is already waiting.

Failures: a constructor that raises marks the actor ``failed`` (its queued tasks fail with that
error, and the runtime restarts nothing, so a broken constructor cannot cause a restart storm;
``init_actor`` retries the constructor inside the process first when the run's DataContext asks
for it, ``actor_init_retry_on_errors``). A process that
dies (a segfault, a SIGKILL, the OOM killer) is restarted up to ``ActorSpec.max_restarts`` times
and every task it had in flight is sent again to the new process, in order, as a new attempt; the
dead attempt's partial files are deleted, so results stay exact.

All methods are called with the runtime's lock held.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from typing import Any, Optional

from streamscope.engine.exceptions import WorkerCrashedError
from streamscope.engine.runtime.base import (
    ACTOR_ALIVE,
    ACTOR_DEAD,
    ACTOR_FAILED,
    ACTOR_RESTARTING,
    ACTOR_STARTING,
    ActorHandle,
    ActorSpec,
    ActorState,
    Resources,
    TaskError,
    TaskHandle,
    TaskResult,
    TaskStats,
)
from streamscope.engine.runtime import context_shipping
from streamscope.engine.runtime.gpu import GpuPool, cuda_env
from streamscope.engine.runtime.local import blockfile
from streamscope.engine.runtime.local import protocol
from streamscope.engine.runtime.local.actor_process import actor_main
from streamscope.engine.runtime.local.pool import Worker, WorkerPool, exit_code_of_dying
from streamscope.engine.runtime.local.worker import attach_exception


class ActorResourcesBusy(RuntimeError):
    """The actor's GPUs are held by others right now; try again when some are released."""


class _ActorTask:
    __slots__ = ("handle", "attempt", "input_ids", "paths")

    def __init__(self, handle: TaskHandle, input_ids: list[str], paths: list[str]):
        self.handle = handle
        self.attempt = 1
        self.input_ids = input_ids
        self.paths = paths


class _Actor:
    def __init__(self, handle: ActorHandle):
        self.handle = handle
        self.state = ACTOR_STARTING
        self.worker: Optional[Worker] = None
        self.pid: Optional[int] = None
        self.tasks: "OrderedDict[int, _ActorTask]" = OrderedDict()
        self.restarts = 0
        self.error: Optional[TaskError] = None


class ActorManager:
    def __init__(self, runtime: Any, start_method: Optional[str], gpus: GpuPool):
        self.rt = runtime
        self.gpus = gpus
        self.pool = WorkerPool(1, start_method, kind="actor")
        self.actors: dict[int, _Actor] = {}
        self._by_worker: dict[str, _Actor] = {}
        self._ids = itertools.count(1)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, spec: ActorSpec) -> ActorHandle:
        if spec.fn.fn_id not in self.rt._fn_bytes:
            raise ValueError(f"actor function {spec.fn.name!r} was released or never registered")
        self.gpus.check(spec.resources.gpu, f"an actor of {spec.operator or spec.fn.name}")
        ids = self.gpus.allocate(spec.resources.gpu)
        if ids is None:
            raise ActorResourcesBusy(f"no GPU capacity free for num_gpus={spec.resources.gpu:g} now")
        actor = _Actor(ActorHandle(next(self._ids), spec, ids))
        self.actors[actor.handle.actor_id] = actor
        self._spawn(actor)
        return actor.handle

    def _spawn(self, actor: _Actor) -> None:
        spec = actor.handle.spec
        worker = self.pool.spawn(target=actor_main, extra_args=(cuda_env(actor.handle.gpu_ids),))
        self.pool.idle.remove(worker)
        worker.current = actor
        actor.worker = worker
        actor.pid = worker.pid
        self._by_worker[worker.worker_id] = actor
        self._send(actor, protocol.encode((protocol.FN, spec.fn.fn_id, self.rt._fn_bytes[spec.fn.fn_id])))
        self._send(actor, protocol.encode((protocol.ACTOR_INIT, spec.fn.fn_id, spec.operator,
                                           context_shipping.pack(spec.context))))
        for task in actor.tasks.values():
            self._send_task(actor, task)

    def kill(self, handle: ActorHandle) -> None:
        actor = self.actors.get(handle.actor_id)
        if actor is None or actor.state == ACTOR_DEAD and actor.worker is None:
            return
        self._drop_tasks(actor)
        self._stop_process(actor)
        if actor.state != ACTOR_FAILED:
            actor.state = ACTOR_DEAD
        self._release(actor)

    def stop_all(self) -> None:
        for actor in list(self.actors.values()):
            self._stop_process(actor)
            self._release(actor)
        self.actors.clear()
        self.pool.stop()

    def state(self, handle: ActorHandle) -> ActorState:
        actor = self.actors.get(handle.actor_id)
        if actor is None:
            return ActorState(ACTOR_DEAD)
        return ActorState(actor.state, len(actor.tasks), actor.pid, actor.restarts, handle.gpu_ids, actor.error)

    def held_resources(self) -> Resources:
        """What live actors hold: CPUs, GPUs, memory and custom resources, for their whole life."""
        held = Resources(cpu=0.0, gpu=0.0)
        for actor in self.actors.values():
            if actor.state in (ACTOR_STARTING, ACTOR_ALIVE, ACTOR_RESTARTING):
                held = held + actor.handle.spec.resources
        return held

    # ---- tasks ---------------------------------------------------------------------------------
    def submit(self, actor_handle: ActorHandle, handle: TaskHandle) -> None:
        actor = self.actors.get(actor_handle.actor_id)
        spec = handle.spec
        if actor is None or actor.state in (ACTOR_DEAD, ACTOR_FAILED):
            why = actor.error if actor is not None and actor.error is not None else None
            self._fail(handle, 1, why or self.rt._system_error_for(spec.operator, RuntimeError(f"{actor_handle} is not running")))
            return
        store = self.rt._state.store
        input_ids = [ref.block_id for ref in spec.inputs]
        try:
            paths = store.pin_for_read(input_ids)
        except KeyError as exc:
            self._fail(handle, 1, self.rt._system_error_for(spec.operator, KeyError(f"input of a {spec.operator} task: {exc.args[0]}")))
            return
        task = _ActorTask(handle, input_ids, paths)
        actor.tasks[handle.task_id] = task
        if actor.worker is not None:
            self._send_task(actor, task)

    def cancel(self, task_ids: set[int]) -> None:
        """Forget these tasks; a result that still arrives for one is deleted unseen."""
        store = self.rt._state.store
        for actor in self.actors.values():
            for task_id in [t for t in actor.tasks if t in task_ids]:
                task = actor.tasks.pop(task_id)
                if store is not None:
                    store.unpin(task.input_ids)

    def _send_task(self, actor: _Actor, task: _ActorTask) -> None:
        spec = task.handle.spec
        store = self.rt._state.store
        message = protocol.encode((
            protocol.TASK, task.handle.task_id, task.attempt, spec.fn.fn_id, protocol.encode_payload(spec.payload), task.paths,
            spec.operator, spec.max_block_bytes, store.directory, store.spill_dir_path(),
            None, None, context_shipping.pack(spec.context),  # no env (set at spawn), no streaming
            store.unreported_output_allowance(self.rt._output_writers(self.rt._state.pool)), store.spill_dirs(),
        ))
        self._send(actor, message)

    def _send(self, actor: _Actor, data: bytes) -> None:
        try:
            actor.worker.conn.send_bytes(data)  # type: ignore[union-attr]
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # it just died: its sentinel reports it and the tasks are re-sent

    # ---- events from the wait loop -------------------------------------------------------------
    def wait_objects(self) -> list[Any]:
        self.pool.close_dead()
        objects: list[Any] = []
        for actor in self.actors.values():
            if actor.worker is not None:
                objects += [actor.worker.conn, actor.worker.sentinel]
        return objects

    def poll(self) -> None:
        """Handle whatever actors sent without blocking: an executor with no task in flight does
        not call ``wait``, yet must see its actors come alive (or die)."""
        for actor in list(self.actors.values()):
            worker = actor.worker
            if worker is None:
                continue
            try:
                ready = worker.conn.poll()
            except (EOFError, OSError):
                ready = True
            if ready:
                self.on_ready(worker.conn)
            elif worker.process.exitcode is not None:
                self.on_ready(worker.sentinel)

    def on_ready(self, obj: Any) -> bool:
        """Handle a ready pipe or sentinel; False when it is not an actor's."""
        worker = self.pool.worker_for(obj)
        if worker is None:
            return False
        actor = self._by_worker.get(worker.worker_id)
        if actor is None:
            return True
        alive = True
        try:
            while actor.worker is worker and worker.conn.poll():
                self._on_message(actor, protocol.decode(worker.conn.recv_bytes()))
        except (EOFError, OSError):
            alive = False
        if actor.worker is worker and (not alive or obj == worker.sentinel):
            self._on_death(actor)
        return True

    def _on_message(self, actor: _Actor, message: tuple) -> None:
        if message[0] == protocol.ACTOR_READY:
            _, pid, error, exc_bytes = message
            actor.pid = pid
            if error is None:
                actor.state = ACTOR_ALIVE
                return
            attach_exception(error, exc_bytes)
            actor.error = error
            actor.state = ACTOR_FAILED
            for task in list(actor.tasks.values()):
                self._fail(task.handle, task.attempt, error, task.input_ids)
            actor.tasks.clear()
            self._stop_process(actor)
            self._release(actor)
            return
        if message[0] == protocol.DONE:
            _, task_id, attempt, result, files, exc_bytes = message
            task = actor.tasks.get(task_id)
            if task is None or task.attempt != attempt:
                for _, path, _, _ in files:
                    blockfile.remove_quietly(path)
                return
            del actor.tasks[task_id]
            result.stats.worker = f"actor-{actor.handle.actor_id}"
            self.rt._complete(task.handle, attempt, task.input_ids, result, files, exc_bytes)

    def _on_death(self, actor: _Actor) -> None:
        worker = actor.worker
        exitcode = exit_code_of_dying(worker.process) if worker is not None else None
        self._stop_process(actor)
        for task in actor.tasks.values():
            self.rt._delete_attempt_files(task.handle.task_id, task.attempt)
            task.attempt += 1
        if actor.restarts < actor.handle.spec.max_restarts:
            actor.restarts += 1
            actor.state = ACTOR_RESTARTING
            self._spawn(actor)
            return
        how = f"was killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exited with code {exitcode}"
        exc = WorkerCrashedError(
            f"actor {actor.handle.actor_id} of operator {actor.handle.spec.operator!r} {how}; "
            f"gave up after {actor.restarts} restarts"
        )
        error = self.rt._system_error_for(actor.handle.spec.operator, exc)
        for task in actor.tasks.values():
            self._fail(task.handle, task.attempt, error, task.input_ids)
        actor.tasks.clear()
        actor.state = ACTOR_DEAD
        self._release(actor)

    # ---- helpers ---------------------------------------------------------------------------------
    def _stop_process(self, actor: _Actor) -> None:
        worker, actor.worker = actor.worker, None
        if worker is not None:
            worker.current = None
            self._by_worker.pop(worker.worker_id, None)
            self.pool.kill([worker])

    def _drop_tasks(self, actor: _Actor) -> None:
        store = self.rt._state.store
        for task in actor.tasks.values():
            if store is not None:
                store.unpin(task.input_ids)
            self.rt._delete_attempt_files(task.handle.task_id, task.attempt)
        actor.tasks.clear()

    def _release(self, actor: _Actor) -> None:
        handle = actor.handle
        if handle.gpu_ids:
            self.gpus.release(handle.gpu_ids, handle.spec.resources.gpu)
            handle.gpu_ids = ()

    def _fail(self, handle: TaskHandle, attempt: int, error: TaskError, input_ids: Optional[list[str]] = None) -> None:
        store = self.rt._state.store
        if input_ids and store is not None:
            store.unpin(input_ids)
        now = time.time()
        self.rt._done.append((handle, TaskResult(outputs=[], stats=TaskStats(started_at=now, finished_at=now, attempts=attempt), error=error)))


def pick_worker(pool: WorkerPool, tags: dict[str, tuple], gpu_ids: Optional[tuple]) -> Worker:
    """An idle task worker for a task. CUDA reads ``CUDA_VISIBLE_DEVICES`` once per process, so a
    worker keeps the first device set it ran a GPU task with (``tags``): GPU tasks prefer a worker
    already holding theirs, then one that never ran a GPU task; a worker that would have to
    switch sets is replaced by a fresh process. CPU tasks prefer untagged ones."""
    if not gpu_ids:
        for worker in pool.idle:
            if worker.worker_id not in tags:
                pool.idle.remove(worker)
                return worker
        return pool.idle.popleft()
    for want in (gpu_ids, None):
        for worker in pool.idle:
            if tags.get(worker.worker_id) == want:
                pool.idle.remove(worker)
                tags[worker.worker_id] = gpu_ids
                return worker
    pool.kill([pool.idle[0]])  # holds another device set: replace it with a fresh process
    worker = pool.spawn()
    pool.idle.remove(worker)
    tags[worker.worker_id] = gpu_ids
    return worker
