"""ActorPoolMapOperator: a map whose callable class lives in a pool of actors.

Why actors: a model that takes seconds to load must be constructed once per process, not once per
batch; each actor constructs the class once (``fn_constructor_args/kwargs``) and then calls it on
batch after batch. Bundling, ordering and output handling are the task-pool operator's; this
class adds the pool:

* **Dispatch**: a batch goes to the live actor with the fewest batches in flight, up to
  ``max_tasks_in_flight_per_actor`` (default 2), so when an actor finishes a batch the next one
  is already waiting on its pipe. Actor tasks ask the executor for no resources: the actor holds
  its CPUs/GPUs for its lifetime (see the resource manager for how those are counted).
* **Autoscaling** (``min_size`` < ``max_size``): one more actor starts when every live actor is
  full and input is still waiting, and none is starting already (so growth follows demand, one
  actor at a time); an actor idle for ``idle_release_s`` while no input waits is released, down to
  ``min_size``; once the operator's input is exhausted and drained all actors are released, so
  their resources go back to the rest of the plan.
* **Failures**: a constructor that raises is called again in the same actor up to
  ``DataContext.actor_init_max_retries`` times when ``actor_init_retry_on_errors`` is True (as
  Ray Data); once it has no retries left the actor fails the run at once with that traceback. A
  batch whose UDF raises is retried on the same actor when ``actor_task_retry_on_errors`` or
  ``retried_map_errors`` names the error (``transforms/udf_retry.py``); a dead actor is restarted
  by the runtime, which re-runs its in-flight batches, so outputs stay exact.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.compute import ActorPoolStrategy
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import exception_from_task_error
from streamscope.engine.physical.map_resources import map_resources
from streamscope.engine.physical.operators.base import ActorTelemetry, ExecutionServices, PhysicalOperator, RefBundle
from streamscope.engine.physical.operators.map_operator import MapTaskInfo, TaskPoolMapOperator
from streamscope.engine.remote_args import ray_options
from streamscope.engine.runtime.base import (
    ACTOR_ALIVE,
    ACTOR_DEAD,
    ACTOR_FAILED,
    ActorHandle,
    ActorSpec,
    Resources,
    TaskContext,
    TaskHandle,
    TaskResult,
    TaskSpec,
    UNLIMITED_RESTARTS,
)
from streamscope.engine.transforms.task_function import MapTaskFunction
from streamscope.engine.transforms.udf_retry import retry_rules_from_context

if TYPE_CHECKING:
    from streamscope.engine.logical.operators import AbstractMap

DEFAULT_MAX_TASKS_IN_FLIGHT = 2


class ActorTaskFunction(MapTaskFunction):
    """The map task function, plus the hook actors call at start: construct every callable class
    in the chain now, so a constructor error surfaces once, before any batch."""

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        if isinstance(payload, tuple) and payload and payload[0] == "slice":
            _, start, length = payload
            blocks = (table.slice(start, length) for table in blocks)
            payload = None
        return super().__call__(payload, blocks, ctx)

    def init_actor(self) -> None:
        """Construct the chain's callable classes; with ``DataContext.actor_init_retry_on_errors``
        a constructor that raises is called again, up to ``actor_init_max_retries`` more times
        (-1: no limit), in this same actor, and the last error is raised once none are left."""
        ctx = DataContext.get_current()
        retries = int(ctx.actor_init_max_retries) if ctx.actor_init_retry_on_errors else 0
        attempt = 0
        while True:
            try:
                for transform in self.transforms:
                    udf = getattr(transform, "udf", None)
                    if udf is not None and hasattr(udf, "_callable"):
                        udf._callable()
                return
            except Exception as exc:
                attempt += 1
                if 0 <= retries < attempt:
                    if attempt > 1:
                        exc._streamscope_retry_note = (  # type: ignore[attr-defined]
                            f"the constructor gave up after {attempt} attempts "
                            f"(DataContext.actor_init_max_retries={retries})")
                    raise


def _check_actor_init_settings(ctx: DataContext) -> None:
    """Refuse, when the run starts, constructor-retry settings Ray Data would not take."""
    if not isinstance(ctx.actor_init_retry_on_errors, bool):
        raise ValueError(f"DataContext.actor_init_retry_on_errors must be True or False, got {ctx.actor_init_retry_on_errors!r}")
    value = ctx.actor_init_max_retries
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError(f"DataContext.actor_init_max_retries must be a whole number >= 0, or -1 for no limit; got {value!r}")


class _PoolActor:
    __slots__ = ("handle", "in_flight", "busy_s", "alive_since", "idle_since", "started_at")

    def __init__(self, handle: ActorHandle):
        self.handle = handle
        self.in_flight = 0
        self.busy_s = 0.0
        self.alive_since: Optional[float] = None
        self.started_at = time.time()
        self.idle_since = time.time()


@dataclass(kw_only=True)
class ActorTaskInfo(MapTaskInfo):
    """An actor task's bookkeeping: the map task's, plus the actor running it and, for a slice
    of a large block, that block's key in ``ActorPoolMapOperator._slices``."""

    actor: _PoolActor
    slice_of: Optional[int] = None


class _SliceEntry:
    """A bundle being dealt out to actors in slices: freed once fully dealt and every slice ended."""

    __slots__ = ("bundle", "in_flight", "dealt")

    def __init__(self, bundle: RefBundle):
        self.bundle = bundle
        self.in_flight = 0
        self.dealt = False


class ActorPoolMapOperator(TaskPoolMapOperator):
    kind = "ActorPoolMapOperator"
    idle_release_s = 1.0
    """Seconds an actor may sit idle (with no input waiting) before autoscaling releases it."""

    def __init__(self, name: str, input_op: Optional[PhysicalOperator], transforms: list, *, strategy: ActorPoolStrategy,
                 resources: Resources,
                 logical_names: tuple[str, ...] = (), min_rows_per_bundle: Optional[int] = None,
                 ray_remote_args: Optional[dict] = None, ray_remote_args_fn: Any = None):
        super().__init__(name, input_op, transforms, logical_names=logical_names, resources=resources,
                         min_rows_per_bundle=min_rows_per_bundle, ray_remote_args=ray_remote_args,
                         ray_remote_args_fn=ray_remote_args_fn)
        self.strategy = strategy
        self.min_size = int(strategy.min_size or 1)
        self.max_size: Optional[int] = None if math.isinf(strategy.max_size) else int(strategy.max_size)
        """None: unbounded (Ray's ``inf``), resolved at start to what the resources allow."""
        self.initial_size = int(strategy.initial_size or self.min_size)
        self.max_in_flight = int(strategy.max_tasks_in_flight_per_actor or 0)
        self.actors: dict[int, _PoolActor] = {}
        self.starting: dict[int, _PoolActor] = {}
        self.retired: list[_PoolActor] = []
        self.actor_spec: Optional[ActorSpec] = None
        self.actors_started = 0
        self.peak_actors = 0
        self._slice_offset = 0
        self._slices: dict[int, _SliceEntry] = {}
        """Bundles being dealt out in slices, by ``id(bundle)``."""

    @classmethod
    def from_logical(cls, op: AbstractMap, input_physical_op: PhysicalOperator) -> "ActorPoolMapOperator":
        return cls(op.name, input_physical_op, [op.transform], strategy=op.compute, resources=map_resources(op),
                   logical_names=(op.name,), min_rows_per_bundle=op.min_rows_per_bundle,
                   ray_remote_args=op.ray_remote_args, ray_remote_args_fn=op.ray_remote_args_fn)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, services: ExecutionServices) -> None:
        self.services = services
        ctx = services.context
        self.max_in_flight = self.max_in_flight or int(ctx.max_tasks_in_flight_per_actor or DEFAULT_MAX_TASKS_IN_FLIGHT)
        _check_actor_init_settings(ctx)
        self.retry_rules = retry_rules_from_context(ctx, actor=True)
        fn = ActorTaskFunction(self.transforms, self.name, ctx.target_max_block_size, coalesce_min_bytes=services.min_bundle_bytes(),
                               retry_rules=self.retry_rules)
        self._fn = services.register(fn, self.name)
        # actor deaths: the restart budget (ray_remote_args' max_restarts, else ActorSpec's); the
        # actor_init_* settings are about constructors that raise, handled in init_actor
        self.actor_spec = ActorSpec(self._fn, self.resources, self.name, max_restarts=self._max_restarts(),
                                    context=ctx, ray_options=ray_options(self.ray_remote_args),
                                    ray_options_fn=self.ray_remote_args_fn)
        self.max_size = self.max_size or self._resource_cap()
        self.max_size = max(self.max_size, self.min_size)
        for _ in range(min(self.initial_size, self.max_size)):
            self._start_actor()

    def _max_restarts(self) -> int:
        """``max_restarts`` from the map's remote args (-1: without limit, as Ray), else the
        runtime's default budget for dead actors (``ActorSpec.max_restarts``; the context's
        ``actor_init_*`` settings are about constructors that raise, see ``init_actor``)."""
        given = self.ray_remote_args.get("max_restarts")
        if given is None:
            return ActorSpec.__dataclass_fields__["max_restarts"].default
        return UNLIMITED_RESTARTS if given < 0 else int(given)

    def _resource_cap(self) -> int:
        """Unbounded ``max_size``: as many actors as the machine's resources allow (CPUs, GPUs,
        memory and custom resources each bound it)."""
        total = self.svc.runtime.total_resources()
        caps = [max(1, int(total.cpu))]
        if self.resources.cpu > 0:
            caps.append(max(1, int(total.cpu // self.resources.cpu)))
        if self.resources.gpu > 0:
            caps.append(max(1, int(math.floor(total.gpu / self.resources.gpu + 1e-9))))
        if self.resources.memory > 0 and total.memory > 0:
            caps.append(max(1, int(total.memory // self.resources.memory)))
        have = total.custom_dict()
        for name, amount in self.resources.custom:
            if name in have:
                caps.append(max(1, int(math.floor(have[name] / amount + 1e-9))))
        return min(caps)

    def _start_actor(self) -> bool:
        assert self.actor_spec is not None, "actors start after start()"
        try:
            handle = self.svc.runtime.start_actor(self.actor_spec)
        except ValueError:
            raise
        except RuntimeError:  # its GPUs are busy right now: autoscaling tries again later
            return False
        self.starting[handle.actor_id] = _PoolActor(handle)
        self.actors_started += 1
        self.peak_actors = max(self.peak_actors, len(self.actors) + len(self.starting))
        return True

    def _release(self, actor: _PoolActor) -> None:
        self.svc.runtime.kill_actor(actor.handle)
        self.actors.pop(actor.handle.actor_id, None)
        self.starting.pop(actor.handle.actor_id, None)
        actor.alive_since = actor.alive_since and (time.time() - actor.alive_since)  # keep its lifetime
        self.retired.append(actor)

    def shutdown(self) -> None:
        for entry in self._slices.values():
            if entry.dealt and entry.bundle.owned and self.services is not None:
                self.services.free(entry.bundle.refs)  # its last slices were cancelled
        self._slices.clear()
        if self.services is not None:
            for actor in list(self.actors.values()) + list(self.starting.values()):
                self._release(actor)
        super().shutdown()

    # ---- scheduling hooks ------------------------------------------------------------------------
    def task_resources(self) -> Resources:
        return Resources(cpu=0.0, gpu=0.0)

    def concurrency_cap(self) -> Optional[int]:
        return None

    def _free_actor(self) -> Optional[_PoolActor]:
        best = None
        for actor in self.actors.values():
            if actor.in_flight < self.max_in_flight and (best is None or actor.in_flight < best.in_flight):
                best = actor
        return best

    def has_next_task(self) -> bool:
        return self._free_actor() is not None and super().has_next_task()

    def next_task(self) -> Optional[tuple[TaskSpec, ActorTaskInfo]]:
        actor = self._free_actor()
        if actor is None:
            return None
        nxt = self._next_slice(actor) or self._next_bundle(actor)
        if nxt is None:
            return None
        spec, info = nxt
        spec.actor = actor.handle
        spec.stream_outputs = False  # one batch in, one block out: nothing to stream
        spec.resources = Resources(cpu=0.0, gpu=0.0)
        actor.in_flight += 1
        return spec, info

    def _next_bundle(self, actor: _PoolActor) -> Optional[tuple[TaskSpec, ActorTaskInfo]]:
        """The task-pool operator's next task (whole input bundles), for ``actor``."""
        nxt = super().next_task()
        if nxt is None:
            return None
        spec, info = nxt
        return spec, ActorTaskInfo(bundles=info.bundles, seq=info.seq, emitted=info.emitted, actor=actor)

    def _next_slice(self, actor: _PoolActor) -> Optional[tuple[TaskSpec, ActorTaskInfo]]:
        """One block much larger than the batch size would go whole to one actor while the others
        idle; deal it out as batch-sized slices instead (the block is freed after its last slice)."""
        batch = self.min_rows_per_bundle
        queue = self.input_queues[0]
        if not batch or not queue or len(queue[0].blocks) != 1 or queue[0].num_rows < 2 * batch:
            return None
        assert self._fn is not None, "next_task before start"
        bundle = queue[0]
        entry = self._slices.setdefault(id(bundle), _SliceEntry(bundle))
        start = self._slice_offset
        length = min(batch, bundle.num_rows - start)
        if bundle.num_rows - (start + length) < batch // 2:  # no tiny tail slice
            length = bundle.num_rows - start
        self._slice_offset += length
        if self._slice_offset >= bundle.num_rows:
            queue.popleft()
            self._slice_offset = 0
            entry.dealt = True
        entry.in_flight += 1
        seq = self._next_seq
        self._next_seq += 1
        spec = TaskSpec(self._fn, payload=("slice", start, length), inputs=bundle.refs, resources=self.resources,
                        operator=self.name, max_block_bytes=self.svc.context.target_max_block_size)
        return spec, ActorTaskInfo(seq=seq, actor=actor, slice_of=id(bundle))

    def _slice_done(self, info: ActorTaskInfo) -> None:
        entry = self._slices.get(info.slice_of) if info.slice_of is not None else None
        if entry is None:
            return
        entry.in_flight -= 1
        if entry.in_flight == 0 and entry.dealt:
            del self._slices[id(entry.bundle)]
            if entry.bundle.owned:
                self.svc.free(entry.bundle.refs)

    def _task_ended(self, info: MapTaskInfo, wall_s: float) -> None:
        assert isinstance(info, ActorTaskInfo), "every task of an actor pool runs on an actor"
        self._slice_done(info)
        actor = info.actor
        actor.in_flight = max(0, actor.in_flight - 1)
        actor.busy_s += wall_s
        if actor.in_flight == 0:
            actor.idle_since = time.time()

    def on_task_done(self, handle: TaskHandle, info: MapTaskInfo, result: TaskResult) -> None:
        self._task_ended(info, result.stats.wall_s)
        super().on_task_done(handle, info, result)

    def on_task_skipped(self, handle: TaskHandle, info: MapTaskInfo) -> None:
        self._task_ended(info, 0.0)
        super().on_task_skipped(handle, info)

    def progress_tick(self) -> None:
        if self.services is None or self.actor_spec is None:
            return
        runtime = self.services.runtime
        now = time.time()
        for actor_id, actor in list(self.starting.items()):
            state = runtime.actor_state(actor.handle)
            if state.state == ACTOR_FAILED:
                raise exception_from_task_error(state.error)
            if state.state == ACTOR_ALIVE:
                actor.alive_since = actor.idle_since = now
                self.actors[actor_id] = self.starting.pop(actor_id)
            elif state.state == ACTOR_DEAD:
                self.starting.pop(actor_id)
        for actor_id, actor in list(self.actors.items()):
            state = runtime.actor_state(actor.handle)
            if state.state in (ACTOR_DEAD, ACTOR_FAILED):  # its tasks already failed the run
                self.actors.pop(actor_id)
        self._autoscale(now)

    def _autoscale(self, now: float) -> None:
        waiting = bool(self.input_queues[0]) and not self.completed_early
        finished = self.all_inputs_done() and not waiting and not self.active
        if finished or self.completed_early:
            for actor in list(self.actors.values()) + list(self.starting.values()):
                if actor.in_flight == 0:
                    self._release(actor)
            return
        total = len(self.actors) + len(self.starting)
        if total < self.min_size:
            self._start_actor()
            return
        if waiting and not self.starting and total < (self.max_size or total) and self._free_actor() is None \
                and TaskPoolMapOperator.has_next_task(self):
            self._start_actor()
            return
        if not waiting and len(self.actors) > self.min_size:
            idle = [a for a in self.actors.values() if a.in_flight == 0 and now - a.idle_since >= self.idle_release_s]
            for actor in idle[: len(self.actors) - self.min_size]:
                self._release(actor)

    # ---- telemetry -------------------------------------------------------------------------------
    def actor_telemetry(self) -> ActorTelemetry:
        now = time.time()
        busy = sum(1 for a in self.actors.values() if a.in_flight > 0)
        fractions = []
        for actor in self.actors.values():
            alive = now - actor.alive_since if actor.alive_since else 0.0
            fractions.append(min(1.0, actor.busy_s / alive) if alive > 0 else 0.0)
        return {
            "actors_alive": len(self.actors), "actors_busy": busy, "actors_idle": len(self.actors) - busy,
            "actors_starting": len(self.starting), "actor_busy_fraction": tuple(fractions),
            "gpu_ids": tuple(sorted({g for a in self.actors.values() for g in a.handle.gpu_ids})),
        }

    def busy_fraction(self) -> Optional[float]:
        """Busy time over alive time, all actors this run ever had together (for stats/benchmarks)."""
        now = time.time()
        busy = alive = 0.0
        for actor in list(self.actors.values()):
            busy += actor.busy_s
            alive += now - actor.alive_since if actor.alive_since else 0.0
        for actor in self.retired:
            busy += actor.busy_s
            alive += actor.alive_since or 0.0
        return busy / alive if alive > 0 else None
