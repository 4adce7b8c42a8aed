"""Telemetry: immutable snapshots of a run, published by the executor, read by every view.

Why snapshots: the executor must never wait on a UI and never build display strings. It publishes
a frozen :class:`ExecutionSnapshot` into a small bounded buffer a few times a second; terminal
progress, stats and each notebook widget poll the buffer on their own timer (<= 10 Hz). A view can
therefore be tested by feeding it a synthetic stream of snapshots, with no engine at all.

Facts several views show are decided once, when the snapshot is built, and carried here: the
whole-run ``progress`` and ``estimated_rows_total`` (rule: ``run_progress.py``) and the
``bottleneck`` (rule: ``bottleneck.py``). A view shows them; it never recomputes them.

The :class:`TelemetryHub` is the session-wide registry of runs, so a dashboard opened once follows
every execution that starts afterwards.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.plan_graph import PlanGraph
from streamscope.engine.runtime.base import StoreStats

# Operator states, in the order a run moves through them.
PENDING = "pending"
RUNNING = "running"
BACKPRESSURED = "backpressured"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

# Run states.
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_CANCELLED = "cancelled"

# Bottleneck kinds (``Bottleneck.kind``); the rule that picks one is
# :mod:`streamscope.engine.execution.bottleneck`.
STALLED = "stalled"
"""Nothing moved for ``DataContext.stall_timeout_s``."""
ACTORS_STARTING = "actors_starting"
"""An actor pool has actors starting and none alive: the stage cannot work at all yet."""
ACTORS_BUSY = "actors_busy"
"""Every actor of the pool is busy and blocks wait at the stage's input."""
CONCURRENCY_CAP = "concurrency_cap"
"""The stage has as many tasks in flight as its ``concurrency`` allows, and more work waits."""
INPUT_FULL = "input_full"
"""Blocks pile up at the stage's input until the stage before it is held by backpressure."""
CONSUMER = "consumer"
"""The code reading the run's output takes blocks slower than the last stage makes them."""
RESOURCES = "resources"
"""The stage waits for CPU or GPU slots the machine does not have free."""
INPUT_QUEUE = "input_queue"
"""No stage reports a limit; this one has the most blocks waiting at its input."""
DRAINING = "draining"
"""Every stage before it is done and nothing waits anywhere: the run waits for its tasks alone."""
SOURCE = "source"
"""The read (or first stage) works while every stage after it waits with an empty input."""
STORE_FULL = "store_full"
"""The object store is at its capacity and spilling: moving blocks to disk paces the run."""


@dataclass(frozen=True)
class OperatorSnapshot:
    """One physical operator at one instant."""

    op_id: str
    """Stable id, equal to the node id in the physical plan's graph (and its DOT)."""
    name: str
    state: str = PENDING
    fused: tuple[str, ...] = ()
    """Logical operators fused into this one, in order."""
    queued_in_blocks: int = 0
    queued_in_bytes: int = 0
    queued_out_blocks: int = 0
    queued_out_bytes: int = 0
    active_tasks: int = 0
    tasks_done: int = 0
    tasks_failed: int = 0
    rows_in: int = 0
    rows_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    blocks_out: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    udf_s: float = 0.0
    backpressure_s: float = 0.0
    blocked_by: Optional[BlockedReason] = None
    """Why the operator may not dispatch now (a policy, or the machine being full); None: free."""
    rows_per_s: float = 0.0
    """Recent output rate (rows/s over the last few seconds)."""
    estimated_rows_total: Optional[int] = None
    """Rows the operator will output, when known from metadata; None when unknown."""
    progress: Optional[float] = None
    """Fraction done in [0, 1] when estimable."""
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    actors_alive: int = 0
    actors_busy: int = 0
    actors_idle: int = 0
    actors_starting: int = 0
    actor_busy_fraction: tuple[float, ...] = ()
    gpu_ids: tuple[str, ...] = ()
    """The GPUs this operator's actors hold now (``GpuSnapshot.device_id``), so a view can put
    each GPU's utilization on the stage that uses it."""
    phase: str = ""
    """For all-to-all operators: "map", "reduce" or ""."""
    spilled_bytes: int = 0
    """Bytes of this operator's outputs that had to be spilled."""
    retries: int = 0
    """Retries of the operator's finished tasks so far: errors retried inside a task (user code
    named by a retry setting, transient IO errors) plus re-runs after a worker died."""
    errored_blocks: int = 0
    """Failed tasks of this operator whose blocks were dropped under
    ``DataContext.max_errored_blocks`` (their rows are missing from the output)."""
    consumer_id: str = ""
    """``op_id`` of the operator that reads this one's output; "" for the last operator (its
    output goes to the run's consumer). Lets the bottleneck rule follow backpressure downstream."""

    @property
    def backpressure_reason(self) -> str:
        """The blocked reason as the views show it ("OutputBudget: ..."); "" when not held."""
        return "" if self.blocked_by is None else str(self.blocked_by)


@dataclass(frozen=True)
class Bottleneck:
    """The stage that limits the run's throughput now, and why (``ExecutionSnapshot.bottleneck``).

    ``op_id`` is "" when the limit is the code reading the run's output (``kind`` "consumer").
    ``reason`` is one sentence for people; views show it as it is.

    Example::

        Bottleneck("op3", "MapBatches(Model)", ACTORS_BUSY,
                   "MapBatches(Model) limits throughput: all 1 actor(s) busy, 6 block(s) wait at its input")
    """

    op_id: str
    op_name: str
    kind: str
    """One of the bottleneck kinds above (``STALLED``, ``ACTORS_BUSY``, ...)."""
    reason: str
    holds_back: tuple[str, ...] = ()
    """The stages held back because of it, each with the policy holding it ("ReadRange->Map(f)
    by DownstreamCapacity"): what waits, told apart from what limits."""

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class GpuSnapshot:
    index: int
    name: str = ""
    utilization: Optional[float] = None
    """Fraction in [0, 1]; None when not measurable (never reported as 0 when unknown)."""
    memory_used_bytes: Optional[int] = None
    memory_total_bytes: Optional[int] = None
    device_id: str = ""
    """The id a process is given in ``CUDA_VISIBLE_DEVICES`` for this GPU (what
    ``OperatorSnapshot.gpu_ids`` names), "" when unknown."""


@dataclass(frozen=True)
class ResourceSnapshot:
    cpu_total: float = 0.0
    cpu_in_use: float = 0.0
    cpu_utilization: Optional[float] = None
    """Machine CPU utilization fraction (psutil), None if unknown."""
    gpus: tuple[GpuSnapshot, ...] = ()
    """Empty means "no GPU"."""
    workers_alive: int = 0
    workers_busy: int = 0


@dataclass(frozen=True)
class TaskSpan:
    """One finished task, for the Gantt timeline."""

    op_id: str
    worker: str
    start: float
    end: float
    ok: bool = True


@dataclass(frozen=True)
class ExecutionSnapshot:
    """A whole run at one instant."""

    run_id: str
    name: str
    state: str
    started_at: float
    timestamp: float
    operators: tuple[OperatorSnapshot, ...] = ()
    store: StoreStats = field(default_factory=StoreStats)
    """The object store now; its spill and restore totals count from this run's start."""
    resources: ResourceSnapshot = field(default_factory=ResourceSnapshot)
    bottleneck: Optional[Bottleneck] = None
    """The stage that limits throughput now (None when none does, and always once finished)."""
    error: str = ""
    """Short error text when the run failed."""
    rows_out: int = 0
    """Rows delivered to the consumer so far."""
    estimated_rows_total: Optional[int] = None
    """Rows the run is expected to deliver (the metadata's figure, else one row out per row into
    the last operator); the rows delivered once succeeded; None when unknown."""
    progress: Optional[float] = None
    """Whole-run fraction in [0, 1] when estimable: below 1 while running or after a failure or
    cancel (the fraction reached), exactly 1.0 once succeeded."""
    plan_graph: Optional[PlanGraph] = None
    """The physical plan as a graph (node ids equal ``OperatorSnapshot.op_id``)."""
    timeline: tuple[TaskSpan, ...] = ()
    """Finished tasks so far (capped)."""

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self.timestamp - self.started_at)

    @property
    def finished(self) -> bool:
        return self.state != RUN_RUNNING

    @property
    def stalled(self) -> bool:
        """No operator made progress for ``DataContext.stall_timeout_s`` (the bottleneck says where)."""
        return self.bottleneck is not None and self.bottleneck.kind == STALLED

    def operator(self, op_id: str) -> Optional[OperatorSnapshot]:
        for op in self.operators:
            if op.op_id == op_id:
                return op
        return None


def consumer_index(ops: Sequence[OperatorSnapshot], i: int) -> Optional[int]:
    """Index in ``ops`` of the operator reading ``ops[i]``'s output (by ``consumer_id``); None when
    it is the run's consumer. Snapshots built by hand without ``consumer_id`` read in plan order."""
    op = ops[i]
    if op.consumer_id:
        return next((k for k, o in enumerate(ops) if o.op_id == op.consumer_id), None)
    return i + 1 if i + 1 < len(ops) else None


class SnapshotBuffer:
    """The latest snapshots of one run (bounded); views read ``latest()`` or ``history()``."""

    def __init__(self, run_id: str, name: str, maxlen: int = 600):
        self.run_id = run_id
        self.name = name
        self._items: "collections.deque[ExecutionSnapshot]" = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._version = 0

    def publish(self, snapshot: ExecutionSnapshot) -> None:
        with self._lock:
            self._items.append(snapshot)
            self._version += 1

    def latest(self) -> Optional[ExecutionSnapshot]:
        with self._lock:
            return self._items[-1] if self._items else None

    def history(self) -> list[ExecutionSnapshot]:
        with self._lock:
            return list(self._items)

    @property
    def version(self) -> int:
        """Increases with every publish, so a view can skip redraws when nothing changed."""
        return self._version

    @property
    def finished(self) -> bool:
        snap = self.latest()
        return snap is not None and snap.finished


class TelemetryHub:
    """Session-wide registry of runs. Views subscribe with ``add_listener`` to hear of new runs."""

    def __init__(self, keep_runs: int = 50):
        self._runs: "collections.OrderedDict[str, SnapshotBuffer]" = collections.OrderedDict()
        self._keep = keep_runs
        self._lock = threading.Lock()
        self._listeners: list[Callable[[SnapshotBuffer], None]] = []
        self._ids = itertools.count(1)

    def new_run(self, name: str) -> SnapshotBuffer:
        run_id = f"run-{next(self._ids)}-{int(time.time() * 1000) % 100000}"
        buf = SnapshotBuffer(run_id, name)
        with self._lock:
            self._runs[run_id] = buf
            while len(self._runs) > self._keep:
                self._runs.popitem(last=False)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(buf)
            except Exception:  # a broken view must never break execution
                pass
        return buf

    def runs(self) -> list[SnapshotBuffer]:
        with self._lock:
            return list(self._runs.values())

    def active_runs(self) -> list[SnapshotBuffer]:
        """Runs that have published and not yet finished, oldest first: what a session view lists
        when several runs share the machine (a background run next to foreground work)."""
        with self._lock:
            runs = list(self._runs.values())
        return [buf for buf in runs if buf.latest() is not None and not buf.finished]

    def latest_run(self) -> Optional[SnapshotBuffer]:
        with self._lock:
            return next(reversed(self._runs.values()), None) if self._runs else None

    def get(self, run_id: str) -> Optional[SnapshotBuffer]:
        with self._lock:
            return self._runs.get(run_id)

    def add_listener(self, fn: Callable[[SnapshotBuffer], None]) -> None:
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[SnapshotBuffer], None]) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)


_HUB = TelemetryHub()


def hub() -> TelemetryHub:
    """The session's telemetry hub."""
    return _HUB


__all__ = [
    "OperatorSnapshot",
    "Bottleneck",
    "StoreStats",
    "GpuSnapshot",
    "ResourceSnapshot",
    "TaskSpan",
    "ExecutionSnapshot",
    "consumer_index",
    "SnapshotBuffer",
    "TelemetryHub",
    "hub",
    "replace",
]
