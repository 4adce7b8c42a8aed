"""The Runtime interface: the only thing the streaming executor knows about where tasks run.

Why this seam: the executor, the plans and the widgets must run unchanged on the embedded local
runtime (worker processes + a shared-memory store) and on a Ray cluster (remote functions +
ObjectRefs). So the executor only ever holds opaque :class:`BlockRef` objects and
:class:`BlockMetadata`; it never sees file paths, shared-memory names or ObjectRefs directly.

Task contract
-------------
A task function is any picklable callable registered once with :meth:`Runtime.register_function`
(the runtime ships the pickled bytes once per worker)::

    fn(payload, blocks: Iterator[pyarrow.Table], ctx: TaskContext) -> Iterator[pyarrow.Table]

``payload`` is a small per-task picklable value (a read task, slice bounds, a partition index);
``blocks`` lazily yields the task's input blocks in order. Every table the function yields is
stored as one or more output blocks (split to ``TaskSpec.max_block_bytes``).
"""

from __future__ import annotations

import abc
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.runtime.result_router import DEFAULT_RUN, ResultRouter
from streamscope.engine.runtime.run_channel import RunChannel

if TYPE_CHECKING:
    from streamscope.engine.context import DataContext


class BlockRef:
    """Opaque, hashable handle to a block held by a runtime. Subclassed by each runtime."""

    __slots__ = ()


@dataclass(frozen=True)
class FunctionHandle:
    """A function registered with a runtime (pickled once)."""

    fn_id: str
    name: str


@dataclass(frozen=True)
class Resources:
    """Resources a task or actor asks for, or a runtime offers."""

    cpu: float = 1.0
    gpu: float = 0.0
    memory: float = 0.0
    custom: tuple[tuple[str, float], ...] = ()
    """Custom resources (``resources={"name": n}``) as sorted ``(name, amount)`` pairs: a tuple so
    a request stays hashable and two equal requests compare equal."""

    def custom_dict(self) -> dict[str, float]:
        return dict(self.custom)

    def __add__(self, other: "Resources") -> "Resources":
        custom = self.custom_dict()
        for name, amount in other.custom:
            custom[name] = custom.get(name, 0.0) + amount
        return Resources(cpu=self.cpu + other.cpu, gpu=self.gpu + other.gpu, memory=self.memory + other.memory,
                         custom=tuple(sorted(custom.items())))


def declared_resources(resources: Optional[dict]) -> tuple[tuple[str, float], ...]:
    """Custom resources a runtime offers (``init(resources={"name": n})``), checked as Ray's
    ``ray.init`` checks them, as ``Resources.custom`` pairs."""
    if resources is None:
        return ()
    if not isinstance(resources, dict):
        raise TypeError(f"resources must be a dict of name to amount, got {type(resources).__name__}")
    out = []
    for name, amount in resources.items():
        if name in ("CPU", "GPU"):
            raise ValueError("use num_workers (CPUs) and DataContext.num_gpus (GPUs) instead of 'CPU' and 'GPU' "
                             "in resources")
        if not isinstance(name, str):
            raise TypeError(f"resources names must be str, got {name!r}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
            raise ValueError(f"resources[{name!r}] must be a number >= 0, got {amount!r}")
        out.append((name, float(amount)))
    return tuple(sorted(out))


def node_memory_budget(store_capacity: int) -> float:
    """Bytes this machine offers to ``memory=`` requests: physical memory less the block
    store's capacity (the store's blocks live in RAM too), as Ray leaves the object store's share
    out of its ``memory`` resource."""
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0.0  # unknown: no node budget (resource_limits.memory still applies)
    return float(max(0, phys - int(store_capacity or 0)))


@dataclass
class TaskSpec:
    """One unit of work."""

    fn: FunctionHandle
    payload: Any = None
    inputs: Sequence[BlockRef] = ()
    resources: Resources = field(default_factory=Resources)
    operator: str = ""
    """Name of the operator that submitted the task (used in errors and telemetry)."""
    max_retries: int = 3
    """Times the runtime re-runs the task when its worker dies (-1: without limit). Errors raised
    by the task's code are never re-run by the runtime: the task function retries those itself
    (``transforms/udf_retry.py``), the same way on every runtime."""
    max_block_bytes: Optional[int] = None
    """Outputs larger than this are split into several blocks."""
    free_inputs: bool = False
    """Free the input blocks once the task has succeeded (the task owns them)."""
    actor: Optional["ActorHandle"] = None
    """Run on this actor instead of the task pool (``submit`` routes it to ``submit_actor_task``)."""
    stream_outputs: bool = False
    """The runtime may report output blocks while the task still runs, as ``partial`` results,
    so downstream work starts before a long task ends. A retry after a worker death then skips
    the outputs already reported (task functions are assumed deterministic). Runtimes that cannot
    stream ignore this and report everything at the end."""
    run_id: str = ""
    """The run that submitted the task (set by :class:`~.run_channel.RunChannel`): its results go
    to that run alone, and the runtime shares workers fairly between runs."""
    context: Optional[DataContext] = field(default=None, repr=False, compare=False)
    """The run's ``DataContext`` (set by the executor when it submits). The runtime ships it with
    the task and the task body makes it ``DataContext.get_current()`` while the task runs, so
    datasources, the IO retry and user functions in a worker see the user's settings, not the
    worker's defaults. ``None``: the task runs with whatever context its worker has."""
    ray_options: dict = field(default_factory=dict, repr=False, compare=False)
    """Further ``ray.remote`` options for this task (``runtime_env``, ``scheduling_strategy``,
    custom ``resources``...), already checked against the runtime by the plan-time check: only
    the Ray runtime has any left to pass on (see :mod:`streamscope.engine.remote_args`)."""
    ray_options_fn: Optional[Callable[[], dict]] = field(default=None, repr=False, compare=False)
    """``ray_remote_args_fn``: called when the task is submitted; what it returns goes over
    ``ray_options`` (Ray runtime only)."""


@dataclass
class TaskStats:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    udf_s: float = 0.0
    rows_in: int = 0
    bytes_in: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    worker: str = ""
    attempts: int = 1
    """Runs of the task by the runtime: 1, plus one per re-run after its worker died."""
    retries: int = 0
    """Retries inside the task: of errors its retry rules named (``transforms/udf_retry.py``) and
    of transient IO errors (``io/retry.py``). A re-run after a worker death counts afresh."""
    rows_written: int = 0
    """Rows a write task stored in its datasink (what a write's progress counts)."""


@dataclass
class TaskError:
    """A failure inside a task, carried back to the driver."""

    operator: str
    type_name: str
    message: str
    traceback: str
    exception: Optional[BaseException] = None
    """The original exception when it survived pickling."""
    exception_type: Optional[type] = None
    """The original exception's class when the exception itself did not survive pickling (it
    needs constructor arguments it does not keep, or holds an unpicklable value): the driver
    still raises an instance of that type."""
    is_io_error: bool = False
    system: bool = False
    """True when the runtime failed (worker crash, store full), not the user's code."""


@dataclass
class TaskResult:
    outputs: list[tuple[BlockRef, BlockMetadata]] = field(default_factory=list)
    stats: TaskStats = field(default_factory=TaskStats)
    error: Optional[TaskError] = None
    partial: bool = False
    """Outputs reported while the task still runs (``TaskSpec.stream_outputs``); the task's final
    result follows later and carries only outputs not reported before."""


class TaskHandle:
    """Opaque handle to a submitted task."""

    __slots__ = ("task_id", "spec", "submitted_at")

    def __init__(self, task_id: int, spec: TaskSpec):
        self.task_id = task_id
        self.spec = spec
        self.submitted_at = time.time()

    def __repr__(self) -> str:
        return f"TaskHandle({self.task_id}, {self.spec.operator!r})"


@dataclass(frozen=True)
class ActorSpec:
    """A long-lived worker that holds state between tasks.

    ``fn`` is a registered task function; the actor loads it once and, when the function has an
    ``init_actor()`` method, calls it at start so a callable class is constructed right away
    (a constructor that raises fails the actor instead of its first task). Tasks then run with
    the same contract as pool tasks, in submission order, one at a time.
    """

    fn: FunctionHandle
    resources: Resources = field(default_factory=Resources)
    operator: str = ""
    max_restarts: int = 3
    """Times a dead actor is restarted (its in-flight tasks are re-run). The runtime never
    restarts an actor whose constructor raised; ``init_actor`` itself calls the constructor again
    when the run's DataContext asks (``actor_init_retry_on_errors``)."""
    context: Optional[DataContext] = field(default=None, repr=False, compare=False)
    """The run's ``DataContext``, current while the actor's constructor runs (its tasks carry
    their own, ``TaskSpec.context``)."""
    ray_options: dict = field(default_factory=dict, repr=False, compare=False, hash=False)
    """Further ``ray.remote`` options for the actor (as ``TaskSpec.ray_options``)."""
    ray_options_fn: Optional[Callable[[], dict]] = field(default=None, repr=False, compare=False, hash=False)
    """``ray_remote_args_fn``, called before each actor starts (Ray runtime only)."""


UNLIMITED_RESTARTS = 1 << 30
"""``ActorSpec.max_restarts`` for ``max_restarts=-1`` (Ray: restart without limit)."""

ACTOR_STARTING = "starting"
ACTOR_ALIVE = "alive"
ACTOR_RESTARTING = "restarting"
ACTOR_DEAD = "dead"
"""Gave up after ``max_restarts`` deaths, or killed."""
ACTOR_FAILED = "failed"
"""Its constructor raised; ``ActorState.error`` says why."""


class ActorHandle:
    """Opaque handle to an actor started by a runtime."""

    __slots__ = ("actor_id", "spec", "gpu_ids")

    def __init__(self, actor_id: int, spec: ActorSpec, gpu_ids: tuple = ()):
        self.actor_id = actor_id
        self.spec = spec
        self.gpu_ids = tuple(gpu_ids)

    def __repr__(self) -> str:
        return f"ActorHandle({self.actor_id}, {self.spec.operator!r})"


@dataclass(frozen=True)
class ActorState:
    state: str
    in_flight: int = 0
    pid: Optional[int] = None
    restarts: int = 0
    gpu_ids: tuple = ()
    error: Optional[TaskError] = None


@dataclass(frozen=True)
class StoreStats:
    """Object-store figures (bytes): what ``Runtime.store_stats()`` answers, and the ``store`` of
    every ``ExecutionSnapshot`` (there, spill and restore totals count from the run's start)."""

    capacity_bytes: int = 0
    in_memory_bytes: int = 0
    spilled_now_bytes: int = 0
    spilled_total_bytes: int = 0
    restored_total_bytes: int = 0
    num_blocks: int = 0
    backend: str = ""
    """Where blocks live: "tmpfs:/dev/shm/...", "disk:/tmp/...", "memory", "ray"."""


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    pid: Optional[int]
    busy: bool
    kind: str = "task"  # "task" or "actor"
    node: str = "local"


@dataclass
class TaskContext:
    """Given to task functions in the worker: where to record UDF time, which task this is.
    ``Datasink.write`` receives it as Ray Data's ``ctx``: ``task_idx``, ``op_name`` and ``kwargs``
    (``kwargs["write_uuid"]``, one id per write, as Ray's) are Ray's names."""

    operator: str = ""
    task_index: int = 0
    udf_s: float = 0.0
    rows_written: int = 0
    kwargs: dict = field(default_factory=dict)

    @property
    def task_idx(self) -> int:
        """Ray Data's name for ``task_index``: the task's number within its operator."""
        return self.task_index

    @property
    def op_name(self) -> str:
        """Ray Data's name for ``operator``: the name of the operator the task belongs to."""
        return self.operator

    def time_udf(self) -> "_UdfTimer":
        return _UdfTimer(self)


class _UdfTimer:
    __slots__ = ("_ctx", "_t0")

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx
        self._t0 = 0.0

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._ctx.udf_s += time.perf_counter() - self._t0
        return False


TaskFunction = Callable[[Any, Iterator[pa.Table], TaskContext], Iterator[pa.Table]]


class Runtime(abc.ABC):
    """Where tasks run and blocks live. Implementations: in-process (small plans, tests),
    local (warm worker processes + shared-memory store), ray (a Ray cluster)."""

    name: str = "runtime"
    actors_reserve_cpus: bool = False
    """True where an actor holds its CPUs for its whole life, so a plan whose actor pools take
    every CPU could never feed them (checked before a run starts)."""

    def __init__(self) -> None:
        self._router = ResultRouter(self._collect, self.free)

    @abc.abstractmethod
    def ensure_started(self, context: Optional[DataContext] = None) -> None:
        """Start workers and the store if needed, applying the DataContext's settings (worker
        count, store capacity, spill directory; None: the current context's). Cheap when
        already started."""

    @abc.abstractmethod
    def register_function(self, fn: TaskFunction, name: str = "") -> FunctionHandle:
        """Pickle ``fn`` once; workers receive it once and cache it by ``fn_id``."""

    def release_function(self, handle: FunctionHandle) -> None:
        """Forget a function once its operator is done (default: keep it)."""

    @abc.abstractmethod
    def submit(self, spec: TaskSpec) -> TaskHandle:
        """Queue a task. Never blocks on execution."""

    def open_run(self, run_id: str) -> "RunChannel":
        """A private channel for one run: tasks submitted through it report to it alone (any
        number of runs may be open at once)."""
        return RunChannel(self, self._result_router(), run_id)

    def open_runs(self) -> list[str]:
        """Ids of the runs with an open channel (fair shares, telemetry)."""
        return self._result_router().open_runs()

    def wait(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        """Results of tasks submitted without a run (``TaskSpec.run_id == ""``) that finished
        since the last call; waits up to ``timeout`` seconds when none is ready. Each submitted
        task yields exactly one result (retries on worker death happen inside the runtime).
        Runs use :meth:`open_run` instead."""
        return self._result_router().wait(DEFAULT_RUN, timeout)

    def _result_router(self) -> ResultRouter:
        return self._router

    @abc.abstractmethod
    def _collect(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        """Results of *every* task that finished since the last call, whichever run submitted it;
        waits up to ``timeout`` seconds when none is ready. Only the :class:`ResultRouter` calls
        this (one thread at a time), and deals the results to their runs."""

    def sweep_task_files(self, task_ids: "set[int]") -> None:
        """A run has closed: delete any output file of these tasks that the store does not hold
        (one an attempt wrote and never reported, whatever the race that left it). Default:
        nothing to sweep (runtimes without files of their own)."""

    @abc.abstractmethod
    def cancel(self, handles: Sequence[TaskHandle]) -> None:
        """Stop these tasks now (running ones are interrupted; their partial outputs are freed).
        They yield no result. The runtime stays ready for the next run."""

    @abc.abstractmethod
    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        """Store a block from the driver."""

    @abc.abstractmethod
    def get(self, ref: BlockRef) -> pa.Table:
        """Read a block (zero-copy where the runtime allows)."""

    @abc.abstractmethod
    def free(self, refs: Sequence[BlockRef]) -> None:
        """Nothing references these blocks any more: delete them now."""

    @abc.abstractmethod
    def total_resources(self) -> Resources:
        """What the runtime can run at once (CPU slots, GPUs)."""

    @abc.abstractmethod
    def store_stats(self) -> StoreStats:
        """Object-store figures for telemetry."""

    def workers(self) -> list[WorkerInfo]:
        """Worker processes and whether they are busy (for telemetry)."""
        return []

    def spilled_bytes_by_task(self, task_ids: Sequence[int]) -> dict[int, int]:
        """Bytes of these tasks' output blocks spilled so far (per-operator stats); runtimes
        that cannot tell report nothing."""
        return {}

    def gpu_stats(self) -> list[dict]:
        """Per-GPU utilization and memory; an empty list means "no GPU"."""
        return []

    def cpu_utilization(self) -> Optional[float]:
        """Measured utilization in [0, 1] of the CPUs tasks run on; None when nothing measures it
        (the views show unknown, never a guessed 0). Here: this machine's, where the local
        runtimes run their tasks; a cluster's runtime overrides it with the cluster's figure."""
        return _machine_cpu_utilization()

    # ---- actors (optional: runtimes without them raise) ------------------------------------
    def start_actor(self, spec: ActorSpec) -> ActorHandle:
        """Start an actor; returns at once (watch ``actor_state`` for ``alive``). GPUs asked for
        in ``spec.resources`` are assigned now (``CUDA_VISIBLE_DEVICES`` in its process); raises
        ``ValueError`` when the request can never be met."""
        raise NotImplementedError(f"the {self.name} runtime has no actors")

    def submit_actor_task(self, actor: ActorHandle, spec: TaskSpec) -> TaskHandle:
        """Queue a task on ``actor`` (tasks may queue while it works, so the next one is waiting
        when it finishes). Its result comes from :meth:`wait` like any task's; if the actor dies
        the runtime restarts it and re-runs its in-flight tasks."""
        raise NotImplementedError(f"the {self.name} runtime has no actors")

    def kill_actor(self, actor: ActorHandle) -> None:
        """Stop the actor now and release its resources; its unfinished tasks yield no result."""
        raise NotImplementedError(f"the {self.name} runtime has no actors")

    def actor_state(self, actor: ActorHandle) -> ActorState:
        raise NotImplementedError(f"the {self.name} runtime has no actors")

    def actor_resources(self) -> Resources:
        """Resources held by live actors (the executor keeps them out of the task budget)."""
        return Resources(cpu=0.0, gpu=0.0)

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop workers, delete every block and the session directory. Idempotent."""


_cpu_primed = False


def _machine_cpu_utilization() -> Optional[float]:
    """This machine's CPU utilization since the previous call. psutil compares with its previous
    call in this process, so the first one only primes it (None: not measured yet)."""
    global _cpu_primed
    try:
        import psutil

        value = psutil.cpu_percent(interval=None)
    except Exception:
        return None
    primed, _cpu_primed = _cpu_primed, True
    return value / 100.0 if primed else None
