"""RayRuntime: the Runtime contract on a Ray cluster.

How the contract maps onto Ray (2.60):

* ``register_function``: the cloudpickled function goes into the object store once
  (``ray.put``); workers fetch and unpickle it once per process (see :mod:`.remote`).
* ``submit``: one call of a Ray remote function with ``num_returns="streaming"``, asking Ray for
  the task's ``num_cpus``/``num_gpus``/``memory`` and ``max_retries`` (Ray re-runs it when its
  worker or node dies; -1 is Ray's "without limit" too). ``retry_exceptions`` stays False: an
  exception in the task's code never reaches Ray (the task body reports it in its result), and
  the errors a map's ``retry_exceptions``/``max_retries`` or the DataContext's retry settings
  name are retried inside the task function (``transforms/udf_retry.py``), exactly as on the
  other runtimes, skipping the rows already streamed. Handing them to Ray as well would retry
  each error twice over and re-deliver nothing Ray could deduplicate better. Input
  blocks are passed as ObjectRefs, so Ray moves them node to node and the driver never touches
  them.
* ``wait``: ``ray.wait`` over the tasks' ObjectRefGenerators; a task is done when its stream
  ends, and only its last, small item (stats, error, block metadata) is fetched.
* Blocks are ObjectRefs named by :class:`RayBlockRef`; ``get`` is the only place a block comes to
  the driver, and ``free`` drops the runtime's reference so Ray deletes it.
* ``cancel``: ``ray.cancel`` (a KeyboardInterrupt in the task; its outputs are dropped).
* Every task and actor constructor gets the run's DataContext as a small pickled argument
  (``runtime/context_shipping.py``); the worker unpickles it once per run and makes it current.
* Resources, object-store use, spilling, workers per node and GPUs come from the cluster
  (:mod:`.telemetry`).

Thread-safety: several runs' executor threads submit and cancel at once (each through its own
``RunChannel``); one thread at a time collects finished streams (``_collect``) for the result
router, which deals them to their runs. ``put``/``get``/``free`` and the telemetry calls may come
from any thread.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Optional, Sequence

import cloudpickle
import pyarrow as pa
import ray

from streamscope.engine.block import BlockMetadata
from streamscope.engine.exceptions import WorkerCrashedError
from streamscope.engine.runtime.base import (
    ACTOR_DEAD,
    ACTOR_FAILED,
    ActorHandle,
    ActorSpec,
    ActorState,
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
    UNLIMITED_RESTARTS,
    WorkerInfo,
)
from streamscope.engine.runtime import context_shipping, pickling
from streamscope.engine.runtime.ray.actors import RayActor, StreamscopeActor
from streamscope.engine.runtime.ray.connect import connect, dashboard_url
from streamscope.engine.runtime.ray import serialization
from streamscope.engine.runtime.ray.refs import RayBlockRef
from streamscope.engine.runtime.ray.remote import FinalRecord, run_streaming_task
from streamscope.engine.runtime.ray.telemetry import ClusterTelemetry, NodeStats
from streamscope.engine.runtime.task_runner import error_from_exception

_RESOURCES_TTL_S = 2.0
INLINED_BELOW_BYTES = 512 * 1024
"""Blocks under this size are boxed as task arguments (``RayRuntime._input_refs``): Ray inlines
objects under its ``max_direct_call_object_size`` (100 KiB by default), with room to spare for
the difference between a block's size and its serialized size."""


class _Running:
    """A submitted task: its stream and the refs it has produced so far."""

    __slots__ = ("handle", "gen", "refs", "actor_id")

    def __init__(self, handle: TaskHandle, gen: Any, actor_id: Optional[int] = None):
        self.handle = handle
        self.gen = gen
        self.refs: list = []
        self.actor_id = actor_id


class RayRuntime(Runtime):
    """Runs plans on the Ray cluster at ``address`` (``None``: the one Ray finds or starts, as
    ``ray.init()`` does; ``"auto"``; ``"ray://host:10001"``). ``init_kwargs`` go to ``ray.init``
    when this runtime connects; a Ray already initialized in this process is used as it is and
    left running at shutdown."""

    actors_reserve_cpus = True
    """A Ray actor holds its CPUs while it lives (checked at planning time, see resource_check)."""

    name = "ray"

    def __init__(self, address: Optional[str] = None, *, telemetry_interval_s: float = 1.0, **init_kwargs: Any):
        super().__init__()
        self._address = address
        self._init_kwargs = init_kwargs
        self._telemetry_interval_s = telemetry_interval_s
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._fns: dict[str, Any] = {}
        self._objects: dict[str, Any] = {}
        self._small: set[str] = set()
        """Keys of blocks small enough for Ray to keep inline (boxed as task arguments, see
        ``_input_refs``)."""
        self._running: dict[int, _Running] = {}
        self._done: list[tuple[TaskHandle, TaskResult]] = []
        self._cancelled: set[int] = set()
        self._actors: dict[int, RayActor] = {}
        self._remote: Any = None
        self._actor_cls: Any = None
        self._telemetry: Optional[ClusterTelemetry] = None
        self._owns_ray = False
        self._started = False
        self._resources: tuple[float, Resources] = (0.0, Resources(0.0, 0.0))

    # ---- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self, context: Any = None) -> None:
        if self._started and ray.is_initialized():
            return
        with self._lock:
            if self._started and ray.is_initialized():
                return
            if not ray.is_initialized():
                connect(self._address, **self._init_kwargs)
                self._owns_ray = True
            serialization.install()
            self._remote = ray.remote(run_streaming_task)
            self._actor_cls = ray.remote(StreamscopeActor)
            self._telemetry = ClusterTelemetry(dashboard_url(), self._telemetry_interval_s)
            self._telemetry.refresh()
            self._telemetry.start()
            self._started = True

    def shutdown(self) -> None:
        with self._lock:
            running, self._running = list(self._running.values()), {}
            actors, self._actors = list(self._actors.values()), {}
            self._done.clear()
            self._objects.clear()
            self._small.clear()
            self._fns.clear()
            telemetry, self._telemetry = self._telemetry, None
            started, self._started = self._started, False
        if not started:
            return
        if ray.is_initialized():
            for task in running:
                _quiet(ray.cancel, task.gen, force=False, recursive=True)
            for actor in actors:
                _quiet(ray.kill, actor.ray_actor, no_restart=True)
        if telemetry is not None:
            telemetry.stop()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False

    # ---- functions -------------------------------------------------------------------------------
    def register_function(self, fn, name: str = "") -> FunctionHandle:
        self.ensure_started()
        fn_ref = ray.put(pickling.dumps(fn))  # tracebacks keep the user's file names
        fn_id = f"fn-{next(self._ids)}-{fn_ref.hex()[:8]}"
        with self._lock:
            self._fns[fn_id] = fn_ref
        return FunctionHandle(fn_id, name or getattr(fn, "__name__", "fn"))

    def release_function(self, handle: FunctionHandle) -> None:
        with self._lock:
            self._fns.pop(handle.fn_id, None)

    # ---- tasks -------------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> TaskHandle:
        if spec.actor is not None:
            return self.submit_actor_task(spec.actor, spec)
        self.ensure_started()
        handle = TaskHandle(next(self._ids), spec)
        try:
            fn_ref = self._fn_ref(spec)
            inputs = self._input_refs(spec)
        except KeyError as exc:
            self._fail(handle, exc, system=True)
            return handle
        res = spec.resources
        options: dict[str, Any] = {
            "num_returns": "streaming", "num_cpus": float(res.cpu), "max_retries": int(spec.max_retries),
            "retry_exceptions": False, "name": f"streamscope:{spec.operator or spec.fn.name}",
        }
        if res.gpu:
            options["num_gpus"] = float(res.gpu)
        if res.memory:
            options["memory"] = int(res.memory)
        try:
            options.update(_user_options(spec.ray_options, spec.ray_options_fn, res))
            gen = self._remote.options(**options).remote(
                spec.fn.fn_id, [fn_ref], spec.payload, spec.operator, handle.task_id, spec.max_block_bytes,
                context_shipping.pack(spec.context), *inputs)
        except Exception as exc:  # an unpicklable payload is the caller's error, as on the local runtime
            self._fail(handle, exc, system=False)
            return handle
        with self._lock:
            self._running[handle.task_id] = _Running(handle, gen)
        return handle

    def _collect(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                if self._done:
                    done, self._done = self._done, []
                    return done
                running = list(self._running.values())
            remaining = deadline - time.monotonic()
            if not running:
                if remaining > 0:
                    time.sleep(min(remaining, 0.005))
                    continue
                return []
            gens = [task.gen for task in running]
            ready, _ = ray.wait(gens, num_returns=1, timeout=max(0.0, remaining), fetch_local=False)
            if ready and len(gens) > 1:
                ready, _ = ray.wait(gens, num_returns=len(gens), timeout=0, fetch_local=False)
            by_gen = {id(task.gen): task for task in running}
            for gen in ready:
                self._drain(by_gen[id(gen)])
            if remaining <= 0:
                with self._lock:
                    done, self._done = self._done, []
                return done

    def cancel(self, handles: Sequence[TaskHandle]) -> None:
        ids = {h.task_id for h in handles}
        with self._lock:
            victims = [self._running.pop(i) for i in ids if i in self._running]
            # a task completing on another thread right now may have left _running already but not
            # reached _done yet: remember the ids so its result is dropped when it gets there
            self._cancelled.update(ids)
            if len(self._cancelled) > 4096:  # ids of tasks that had finished anyway pile up here
                self._cancelled = set(ids)
            kept = []
            for handle, result in self._done:  # finished but not collected: drop and free
                if handle.task_id in ids:
                    self._drop([ref for ref, _ in result.outputs])
                else:
                    kept.append((handle, result))
            self._done = kept
        for task in victims:
            # force=True ends a running task's worker process: a KeyboardInterrupt landing at an
            # arbitrary point (an import of pandas, a C extension's init) leaves a reused worker
            # broken for every later task. Actor tasks cannot be forced; the pool retires actors.
            _quiet(ray.cancel, task.gen, force=task.actor_id is None, recursive=True)

    def _drain(self, task: _Running) -> None:
        """Take every item the task's stream has ready; complete the task at its end."""
        try:
            while True:
                ref = task.gen._next_sync(0)
                if ref.is_nil():
                    return
                task.refs.append(ref)
        except StopIteration:
            self._complete(task)

    def _complete(self, task: _Running) -> None:
        handle = task.handle
        with self._lock:
            if self._running.pop(handle.task_id, None) is None:
                return  # cancelled meanwhile
        spec = handle.spec
        refs = task.refs
        try:
            if not refs:
                raise RuntimeError("the task's stream ended without a result")
            final = ray.get(refs.pop(), timeout=120)
            if not isinstance(final, FinalRecord) or len(final.metadata) != len(refs):
                raise RuntimeError(f"the task's stream ended out of step ({len(refs)} blocks)")
        except Exception as exc:  # the task itself failed: its worker/node died past retries, ...
            actor = self._actors.get(task.actor_id) if task.actor_id is not None else None
            if actor is not None:
                actor.on_task_error(exc)
            self._fail(handle, _system_exception(spec, exc, task.actor_id), system=True)
            return
        result = final.result
        if result.error is None:
            outputs = []
            with self._lock:
                for ref, meta in zip(refs, final.metadata):
                    key = ref.hex()
                    self._objects[key] = ref
                    if meta.size_bytes < INLINED_BELOW_BYTES:
                        self._small.add(key)
                    outputs.append((RayBlockRef(key), meta))
            result.outputs = outputs
            if spec.free_inputs:
                self.free(spec.inputs)
        with self._lock:
            if handle.task_id in self._cancelled:
                self._cancelled.discard(handle.task_id)
                self._drop([ref for ref, _ in result.outputs])
                return
            self._done.append((handle, result))

    def _fail(self, handle: TaskHandle, exc: BaseException, system: bool) -> None:
        error: TaskError = error_from_exception(handle.spec.operator, exc)
        error.system = system
        now = time.time()
        with self._lock:
            if handle.task_id in self._cancelled:
                self._cancelled.discard(handle.task_id)
                return
            self._done.append((handle, TaskResult(stats=TaskStats(started_at=now, finished_at=now), error=error)))

    def _fn_ref(self, spec: TaskSpec) -> Any:
        with self._lock:
            fn_ref = self._fns.get(spec.fn.fn_id)
        if fn_ref is None:
            raise KeyError(f"function {spec.fn.name!r} was released or never registered")
        return fn_ref

    def _input_refs(self, spec: TaskSpec) -> list:
        """The task's input arguments: an ObjectRef for a block Ray keeps in its object store, and
        ``[ref]`` (a box Ray does not resolve; the worker fetches it, ``remote.unboxed``) for a
        small block.

        Why the box: Ray keeps a small object inline in its owner's memory and, when a task takes
        it as an argument, inlines it on its io thread after submission; a ``ray.cancel`` racing
        that step counts the argument's reference off twice and Ray aborts the driver ("Check
        failed: submitted_task_ref_count > 0", ray-project/ray#55131, fixed for actor tasks by
        #56123, seen for normal tasks on 2.60 when an interrupt cancels a run). A boxed argument
        is never resolved by the submitter, so there is nothing for a cancel to race."""
        with self._lock:
            try:
                return [[self._objects[_key(ref)]] if _key(ref) in self._small else self._objects[_key(ref)]
                        for ref in spec.inputs]
            except KeyError as exc:
                raise KeyError(f"input of a {spec.operator} task: block {exc.args[0][:16]} was freed") from None

    # ---- blocks ------------------------------------------------------------------------------------
    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        self.ensure_started()
        ref = ray.put(table)
        key = ref.hex()
        meta = BlockMetadata.of(table)
        with self._lock:
            self._objects[key] = ref
            if meta.size_bytes < INLINED_BELOW_BYTES:
                self._small.add(key)
        return RayBlockRef(key), meta

    def get(self, ref: BlockRef) -> pa.Table:
        key = _key(ref)
        with self._lock:
            object_ref = self._objects.get(key)
        if object_ref is None:
            raise KeyError(f"block {ref} was freed or never existed")
        return ray.get(object_ref)

    def free(self, refs: Sequence[BlockRef]) -> None:
        with self._lock:
            self._drop(refs)

    def _drop(self, refs: Sequence[BlockRef]) -> None:
        for ref in refs:
            self._objects.pop(_key(ref), None)
            self._small.discard(_key(ref))

    def object_ref(self, ref: BlockRef) -> Any:
        """The ObjectRef behind a block (interop with Ray code; the runtime still owns it)."""
        with self._lock:
            return self._objects[_key(ref)]

    # ---- cluster figures ---------------------------------------------------------------------------
    def total_resources(self) -> Resources:
        self.ensure_started()
        at, cached = self._resources
        if time.monotonic() - at < _RESOURCES_TTL_S:
            return cached
        total = ray.cluster_resources()
        res = Resources(cpu=float(total.get("CPU", 0.0)), gpu=float(total.get("GPU", 0.0)),
                        memory=float(total.get("memory", 0.0)))
        self._resources = (time.monotonic(), res)
        return res

    def store_stats(self) -> StoreStats:
        telemetry = self._telemetry
        with self._lock:
            n = len(self._objects)
        if telemetry is None:
            return StoreStats(backend="ray (not connected)", num_blocks=n)
        return telemetry.with_blocks(n)

    def workers(self) -> list[WorkerInfo]:
        telemetry = self._telemetry
        return telemetry.workers() if telemetry is not None else []

    def gpu_stats(self) -> list[dict]:
        telemetry = self._telemetry
        return telemetry.gpus() if telemetry is not None else []

    def cpu_utilization(self) -> Optional[float]:
        """The cluster's measured CPU utilization, each node weighted by its CPUs (tasks run on
        the nodes: the driver machine's CPU says nothing about them); None unless Ray measures
        every node that has CPUs (its dashboard runs)."""
        nodes = [n for n in self.nodes() if n.cpu_total > 0]
        if not nodes or any(n.cpu_utilization is None for n in nodes):
            return None
        return sum(n.cpu_utilization * n.cpu_total for n in nodes) / sum(n.cpu_total for n in nodes)

    def nodes(self) -> list[NodeStats]:
        """Per-node figures: CPU/GPU slots, measured utilization where Ray reports it, store use,
        spilling, workers."""
        telemetry = self._telemetry
        return telemetry.nodes() if telemetry is not None else []

    def refresh_telemetry(self) -> None:
        """Ask the cluster now instead of waiting for the next poll (tests, diagnostics)."""
        if self._telemetry is not None:
            self._telemetry.refresh()

    # ---- actors --------------------------------------------------------------------------------------
    def start_actor(self, spec: ActorSpec) -> ActorHandle:
        self.ensure_started()
        total = self.total_resources()
        if spec.resources.gpu > total.gpu + 1e-9:
            raise ValueError(f"an actor of {spec.operator or spec.fn.name} asks for num_gpus={spec.resources.gpu:g} "
                             f"but the Ray cluster has {total.gpu:g}")
        fn_ref = self._fn_ref(TaskSpec(fn=spec.fn, operator=spec.operator))
        res = spec.resources
        # max_task_retries=-1: a task in flight when the actor dies re-runs on the restarted actor,
        # as many times as the actor itself may restart.
        restarts = -1 if spec.max_restarts >= UNLIMITED_RESTARTS else int(spec.max_restarts)
        options: dict[str, Any] = {"num_cpus": float(res.cpu), "max_restarts": restarts, "max_task_retries": -1}
        if res.gpu:
            options["num_gpus"] = float(res.gpu)
        if res.memory:
            options["memory"] = int(res.memory)
        options.update(_user_options(spec.ray_options, spec.ray_options_fn, res))
        ray_actor = self._actor_cls.options(**options).remote([fn_ref], spec.operator, context_shipping.pack(spec.context))
        handle = ActorHandle(next(self._ids), spec)
        actor = RayActor(handle, ray_actor, ray_actor.ready.remote())
        with self._lock:
            self._actors[handle.actor_id] = actor
        return handle

    def submit_actor_task(self, actor: ActorHandle, spec: TaskSpec) -> TaskHandle:
        spec.actor = actor
        handle = TaskHandle(next(self._ids), spec)
        with self._lock:
            target = self._actors.get(actor.actor_id)
        if target is None or target.state in (ACTOR_DEAD, ACTOR_FAILED):
            if target is not None and target.error is not None:
                with self._lock:
                    self._done.append((handle, TaskResult(error=target.error)))
            else:
                self._fail(handle, RuntimeError(f"{actor} is not running"), system=True)
            return handle
        try:
            inputs = self._input_refs(spec)
        except KeyError as exc:
            self._fail(handle, exc, system=True)
            return handle
        try:
            gen = target.ray_actor.run.options(num_returns="streaming").remote(
                spec.payload, spec.operator, handle.task_id, spec.max_block_bytes, context_shipping.pack(spec.context),
                *inputs)
        except Exception as exc:
            self._fail(handle, exc, system=False)
            return handle
        with self._lock:
            self._running[handle.task_id] = _Running(handle, gen, actor.actor_id)
        return handle

    def kill_actor(self, actor: ActorHandle) -> None:
        with self._lock:
            target = self._actors.get(actor.actor_id)
            if target is None:
                return
            if target.state != ACTOR_FAILED:
                target.state = ACTOR_DEAD
            orphans = [tid for tid, t in self._running.items() if t.actor_id == actor.actor_id]
            for tid in orphans:
                self._running.pop(tid)
        _quiet(ray.kill, target.ray_actor, no_restart=True)

    def actor_state(self, actor: ActorHandle) -> ActorState:
        with self._lock:
            target = self._actors.get(actor.actor_id)
            in_flight = sum(1 for t in self._running.values() if t.actor_id == actor.actor_id)
        if target is None:
            return ActorState(ACTOR_DEAD)
        target.poll()
        return target.snapshot(in_flight)

    def actor_resources(self) -> Resources:
        with self._lock:
            live = [a.handle.spec.resources for a in self._actors.values() if a.state not in (ACTOR_DEAD, ACTOR_FAILED)]
        return Resources(cpu=sum(r.cpu for r in live), gpu=sum(r.gpu for r in live))


def _key(ref: BlockRef) -> str:
    if not isinstance(ref, RayBlockRef):
        raise TypeError(f"ray runtime got a {type(ref).__name__}; expected RayBlockRef")
    return ref.key


def _system_exception(spec: TaskSpec, exc: BaseException, actor_id: Optional[int]) -> BaseException:
    """Say which operator lost its task, in the local runtime's words where the cause matches."""
    where = f"actor {actor_id} of operator {spec.operator!r}" if actor_id is not None else f"a task of operator {spec.operator!r}"
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if any(k in name for k in ("WorkerCrashed", "NodeDied", "ActorDied", "ActorUnavailable", "OutOfMemory", "ObjectLost")):
        return WorkerCrashedError(f"Ray lost {where} ({name}: {text}); gave up after max_retries={spec.max_retries}")
    return RuntimeError(f"Ray failed {where}: {name}: {text}")


def _user_options(given: dict, fn: Any, res: Resources) -> dict[str, Any]:
    """The map's own ``ray.remote`` options (``runtime_env``, ``scheduling_strategy``,
    ``label_selector``...; the plan-time check let only valid ones through), its custom
    ``resources`` and, last, what its ``ray_remote_args_fn`` returns now (as Ray Data, that wins)."""
    options: dict[str, Any] = dict(given)
    if res.custom:
        options["resources"] = res.custom_dict()
    if fn is not None:
        options.update(fn())
    return options


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:
        pass


__all__ = ["RayRuntime", "RayBlockRef"]
