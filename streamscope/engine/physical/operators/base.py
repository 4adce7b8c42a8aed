"""PhysicalOperator: what the streaming executor schedules.

An operator owns input queues (one per upstream operator), an output queue, and the tasks it has
in flight. The executor moves bundles between queues, asks operators for their next task when the
resource manager and backpressure policies allow, and reports finished tasks back. Operators
never block and never talk to the runtime except through :class:`ExecutionServices`.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any, Generic, Iterable, Optional, TypedDict, TypeVar

import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.context import DataContext
from streamscope.engine.runtime.base import (
    BlockRef,
    FunctionHandle,
    Resources,
    Runtime,
    TaskFunction,
    TaskHandle,
    TaskResult,
    TaskSpec,
)


@dataclass
class RefBundle:
    """Blocks that travel together between operators."""

    blocks: list[tuple[BlockRef, BlockMetadata]]
    owned: bool = True
    """True when the executor created these blocks and must free them once consumed."""
    seq: tuple = ()
    """Ordering key used when ``preserve_order`` is on."""

    @property
    def num_rows(self) -> int:
        return sum(m.num_rows for _, m in self.blocks)

    @property
    def size_bytes(self) -> int:
        return sum(m.size_bytes for _, m in self.blocks)

    @property
    def refs(self) -> list[BlockRef]:
        return [r for r, _ in self.blocks]


@dataclass(kw_only=True)
class TaskInfo:
    """An operator's bookkeeping for one task it made (``next_task`` returns it beside the
    spec; the executor hands it back to the operator's task hooks).

    The executor reads only :attr:`bundles`; operators that need more subclass it with their own
    fields (``MapTaskInfo``, ``ExchangeTaskInfo``, ...), which only they read.
    """

    bundles: list[RefBundle] = field(default_factory=list)
    """The input bundles this task consumes: when the task ends (done, failed, skipped or
    cancelled) the executor frees the blocks of those it owns."""


InfoT = TypeVar("InfoT", bound=TaskInfo)
"""The :class:`TaskInfo` type an operator makes for its tasks."""


class ActorTelemetry(TypedDict, total=False):
    """What an actor pool adds to its ``OperatorSnapshot`` (field for field)."""

    actors_alive: int
    actors_busy: int
    actors_idle: int
    actors_starting: int
    actor_busy_fraction: tuple[float, ...]
    gpu_ids: tuple[str, ...]


@dataclass
class OperatorMetrics:
    rows_in: int = 0
    bytes_in: int = 0
    rows_out: int = 0
    bytes_out: int = 0
    blocks_out: int = 0
    tasks_submitted: int = 0
    tasks_done: int = 0
    tasks_failed: int = 0
    cpu_s: float = 0.0
    udf_s: float = 0.0
    task_wall_s: float = 0.0
    backpressure_s: float = 0.0
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    errored_blocks: int = 0
    rows_written: int = 0
    retries: int = 0
    """Retries of this operator's tasks: inside a task (errors its retry rules or the IO retry
    named) and re-runs after a worker died."""
    rate_window: collections.deque = field(default_factory=lambda: collections.deque(maxlen=64))

    def record_output(self, rows: int, nbytes: int, blocks: int) -> None:
        self.rows_out += rows
        self.bytes_out += nbytes
        self.blocks_out += blocks
        self.rate_window.append((time.time(), self.rows_out))

    def rows_per_s(self, window_s: float = 5.0) -> float:
        now = time.time()
        points = [(t, r) for t, r in self.rate_window if now - t <= window_s]
        if len(points) < 2:
            if self.started_at and self.rows_out:
                end = self.finished_at or now
                return self.rows_out / max(1e-6, end - self.started_at)
            return 0.0
        (t0, r0), (t1, r1) = points[0], points[-1]
        return (r1 - r0) / max(1e-6, t1 - t0)


class ExecutionServices:
    """What operators may use: the runtime (through narrow calls) and the run's settings."""

    def __init__(self, runtime: Runtime, context: DataContext):
        self.runtime = runtime
        self.context = context
        self.preserve_order = bool(context.execution_options.preserve_order)
        self.bundle_bytes_limit: Any = None
        """``fn() -> bytes or None``, set by the executor: the most input bytes a task should
        wait for, from the run's share of the store (None: no limit)."""

    def min_bundle_bytes(self) -> int:
        """Bytes of input a map task gathers before it starts (and that small outputs are merged
        up to): ``target_min_block_size``, but never more than the store can hold while
        backpressure keeps the pipeline inside it. In a 1 MiB store, a stage gathering 1 MiB of
        input for one task (and writing as much) could only spill."""
        target = int(self.context.target_min_block_size)
        limit = self.bundle_bytes_limit() if self.bundle_bytes_limit is not None else None
        return target if limit is None else max(1, min(target, int(limit)))

    def register(self, fn: TaskFunction, name: str) -> FunctionHandle:
        return self.runtime.register_function(fn, name)

    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        return self.runtime.put(table)

    def free(self, refs: Iterable[BlockRef]) -> None:
        if refs:
            self.runtime.free(list(refs))


class PhysicalOperator(Generic[InfoT]):
    """Base class. Subclasses override the task hooks they need.

    ``InfoT`` is the :class:`TaskInfo` type the operator makes in :meth:`next_task` and reads
    back in its task hooks (an operator that makes no tasks leaves it as ``TaskInfo``).
    """

    kind = "PhysicalOperator"

    def __init__(self, name: str, inputs: list["PhysicalOperator"], logical_names: tuple[str, ...] = ()):
        self.name = name
        self.inputs = list(inputs)
        self.logical_names = tuple(logical_names) or (name,)
        self.op_id = ""  # assigned by the physical plan
        self.input_queues: list[collections.deque[RefBundle]] = [collections.deque() for _ in inputs] or [collections.deque()]
        self.inputs_done: list[bool] = [False] * max(1, len(inputs))
        self.output_queue: collections.deque[RefBundle] = collections.deque()
        self.active: dict[TaskHandle, InfoT] = {}
        self.metrics = OperatorMetrics()
        self.services: Optional[ExecutionServices] = None
        self.completed_early = False
        self.phase = ""
        self.failed = False

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self, services: ExecutionServices) -> None:
        self.services = services

    @property
    def svc(self) -> ExecutionServices:
        """The run's services, for code that runs only once the operator started (task hooks,
        dispatch); :attr:`services` is None before :meth:`start`."""
        if self.services is None:
            raise RuntimeError(f"{self.name}: the operator has not been started")
        return self.services

    def shutdown(self) -> None:
        """Release registered functions (tasks are cancelled by the executor)."""

    # ---- data flow ---------------------------------------------------------------------------
    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        self.metrics.rows_in += bundle.num_rows
        self.metrics.bytes_in += bundle.size_bytes
        self.input_queues[index].append(bundle)

    def mark_input_done(self, index: int = 0) -> None:
        self.inputs_done[index] = True

    def all_inputs_done(self) -> bool:
        return all(self.inputs_done)

    def queued_input(self) -> tuple[int, int]:
        blocks = sum(len(b.blocks) for q in self.input_queues for b in q)
        nbytes = sum(b.size_bytes for q in self.input_queues for b in q)
        return blocks, nbytes

    def queued_output(self) -> tuple[int, int]:
        return sum(len(b.blocks) for b in self.output_queue), sum(b.size_bytes for b in self.output_queue)

    def emit(self, bundle: RefBundle) -> None:
        self.metrics.record_output(bundle.num_rows, bundle.size_bytes, len(bundle.blocks))
        self.output_queue.append(bundle)

    # ---- tasks -----------------------------------------------------------------------------
    def has_next_task(self) -> bool:
        """True when a task could be submitted now (ignoring resources/backpressure)."""
        return False

    def next_task(self) -> Optional[tuple[TaskSpec, InfoT]]:
        """Pop inputs and return (spec, bookkeeping) for the next task."""
        return None

    def task_resources(self) -> Resources:
        return Resources(cpu=1.0)

    def on_task_output(self, handle: TaskHandle, info: InfoT, outputs: list[tuple[BlockRef, BlockMetadata]]) -> None:
        """Outputs of a still-running task (``TaskSpec.stream_outputs``). Operators that do not
        stream never ask for it; the default keeps them for ``on_task_done``."""
        raise NotImplementedError(f"{self.kind} does not stream task outputs")

    def on_task_done(self, handle: TaskHandle, info: InfoT, result: TaskResult) -> None:
        """Handle a finished task (successful; errors are handled by the executor)."""

    def on_task_skipped(self, handle: TaskHandle, info: InfoT) -> None:
        """A failed task whose block is dropped under ``max_errored_blocks``."""

    def needs_more_input(self) -> bool:
        """False once this operator will take no more input (it finished early, or it is a
        satisfied limit): the executor drops what would reach it, and an operator whose every
        consumer needs no more input is stopped."""
        return not self.completed_early

    def concurrency_cap(self) -> Optional[int]:
        """The most tasks this operator may have in flight (None = no cap of its own)."""
        return None

    def progress_tick(self) -> None:
        """Called each scheduling step: operators with barriers act when inputs are done."""

    def is_finished(self) -> bool:
        """No more output will come."""
        if self.completed_early:
            return not self.active
        return self.all_inputs_done() and not any(self.input_queues) and not self.active and not self._pending_work()

    def _pending_work(self) -> bool:
        return False

    def estimated_output_rows(self) -> Optional[int]:
        return None

    def estimated_source_bytes(self) -> Optional[int]:
        """Rough size of the data this operator's sources hold (an exchange sizes its partition
        count by it); None when some source cannot tell."""
        sizes = [op.estimated_source_bytes() for op in self.inputs]
        if not sizes or any(s is None for s in sizes):
            return None
        return sum(s for s in sizes if s is not None)

    def progress_rows(self) -> int:
        """Rows that progress counts for this operator: its output rows (a write counts the rows
        it stored instead, see ``TaskPoolMapOperator``)."""
        return self.metrics.rows_out

    def num_read_tasks_left(self) -> Optional[int]:
        """Read tasks not yet submitted; None when the operator reads nothing."""
        return None

    def actor_telemetry(self) -> ActorTelemetry:
        """``OperatorSnapshot`` fields about an actor pool (none for other operators)."""
        return {}

    def clear_inputs(self) -> list[RefBundle]:
        dropped = [b for q in self.input_queues for b in q]
        for q in self.input_queues:
            q.clear()
        return dropped
