"""TaskPoolMapOperator: runs a fused chain of transforms as tasks, optionally reading first.

Why bundling: tiny input blocks would make tiny tasks whose scheduling cost dwarfs the work, and
``map_batches(batch_size=N)`` wants N rows per call; so inputs are grouped until they reach the
batch size or the minimum block size before a task is made.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from streamscope.engine.block import BlockMetadata
from streamscope.engine.context import use_context
from streamscope.engine.io.datasource import plan_read_tasks, source_num_rows
from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.remote_args import ray_options
from streamscope.engine.runtime.base import BlockRef, FunctionHandle, Resources, TaskHandle, TaskResult, TaskSpec
from streamscope.engine.transforms.task_function import MapTaskFunction, NumberedPayload
from streamscope.engine.transforms.udf_retry import RetryRule, retry_rules_from_context
from streamscope.engine.transforms.write import WriteTransform

if TYPE_CHECKING:
    from streamscope.engine.io.datasource import Datasource, ReadTask
    from streamscope.engine.logical.operators import Read

BUNDLE_MAX_WAIT_S = 0.1
"""Inputs smaller than a byte-sized bundle (``target_min_block_size``) wait at most this long for
more before a task starts; bundles of a row count (``batch_size``) always wait until full."""


@dataclass(kw_only=True)
class MapTaskInfo(TaskInfo):
    """A map task's bookkeeping: its place in the operator's output order."""

    seq: int
    """The task's number in submission order (``preserve_order`` emits outputs in this order)."""
    emitted: int = 0
    """Output blocks reported so far (each one's ordering key is ``(seq, index)``)."""


class TaskPoolMapOperator(PhysicalOperator[MapTaskInfo]):
    kind = "TaskPoolMapOperator"

    def __init__(
        self,
        name: str,
        input_op: Optional[PhysicalOperator],
        transforms: list,
        *,
        logical_names: tuple[str, ...] = (),
        read_op: Optional[Read] = None,
        resources: Resources = Resources(cpu=1.0),
        concurrency: Optional[int] = None,
        min_rows_per_bundle: Optional[int] = None,
        exact_min_rows: bool = False,
        ray_remote_args: Optional[dict] = None,
        ray_remote_args_fn: Optional[Callable[[], dict]] = None,
        remote_retry: Optional[RetryRule] = None,
        max_task_retries: Optional[int] = None,
    ):
        super().__init__(name, [input_op] if input_op is not None else [], logical_names)
        # ray_remote_args retry_exceptions/max_retries (udf_retry.rule_from_remote_args), and
        # max_retries alone: how often a task whose worker died is re-run (None: TaskSpec's default)
        self.remote_retry = remote_retry
        self.max_task_retries = max_task_retries
        self.retry_rules: tuple[RetryRule, ...] = ()
        self.transforms = transforms
        self.read_op = read_op
        self.resources = resources
        self.concurrency = concurrency
        self.ray_remote_args: dict = dict(ray_remote_args or {})
        """The map's ``ray.remote`` options besides num_cpus/num_gpus/memory (checked against the
        runtime before the run; the Ray runtime gets the ones it passes on with every task)."""
        self.ray_remote_args_fn = ray_remote_args_fn
        self.min_rows_per_bundle = min_rows_per_bundle
        # exact: a bundle waits for min_rows_per_bundle rows however slow upstream is, and the
        # operator is never fused onto its input (fusion.py). Always so when a row count is asked
        # for: a batch size is a promise to the UDF (map_batches), a file size to the reader
        # (min_rows_per_file); Ray Data's bundler never starts such a task on fewer rows while
        # more are coming. Only byte-sized bundling gives up waiting (BUNDLE_MAX_WAIT_S).
        self.exact_min_rows = exact_min_rows or min_rows_per_bundle is not None
        self._fn: Optional[FunctionHandle] = None
        self._read_tasks: list[ReadTask] = []
        self._next_seq = 0
        self._reorder: dict[int, list[RefBundle]] = {}
        self._finished_seqs: set[int] = set()
        self._queued_since = 0.0
        self._next_emit = 0
        self._estimated_rows: Optional[int] = None
        if read_op is not None:
            self.inputs_done = [True]

    def start(self, services: ExecutionServices) -> None:
        super().start(services)
        ctx = services.context
        # the DataContext's in-task rule first, then the map's own, as Ray nests Ray Data's in-task
        # retry inside Ray Core's task retry
        self.retry_rules = retry_rules_from_context(ctx, actor=False) + ((self.remote_retry,) if self.remote_retry else ())
        fn = MapTaskFunction(self.transforms, self.name, ctx.target_max_block_size, coalesce_min_bytes=self.svc.min_bundle_bytes(),
                             retry_rules=self.retry_rules)
        self._fn = services.register(fn, self.name)
        if self.read_op is not None:
            source = self.read_op.datasource
            parallelism = self.read_op.parallelism
            if parallelism is None or parallelism <= 0:
                parallelism = auto_parallelism(source, services, _first_batch_size(self.transforms))
            with use_context(ctx):  # planning the read sees the run's settings too (block sizes)
                self._read_tasks = plan_read_tasks(source, parallelism, self.read_op.per_task_row_limit, data_context=ctx)
            for task in self._read_tasks:
                task._source_name = self.read_op.name  # errors in read_fn name the read operator
            rows = [t.metadata.num_rows for t in self._read_tasks]
            if rows and all(r is not None for r in rows) and all(_preserves_rows(t) for t in self.transforms):
                self._estimated_rows = sum(rows)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        if self._fn is not None and self.services is not None:
            self.services.runtime.release_function(self._fn)

    def task_resources(self) -> Resources:
        return self.resources

    def concurrency_cap(self) -> Optional[int]:
        return self.concurrency

    def has_next_task(self) -> bool:
        if self.completed_early:
            return False
        if self.read_op is not None:
            return bool(self._read_tasks)
        queue = self.input_queues[0]
        if not queue:
            return False
        if self.inputs_done[0]:
            return True
        return self._bundle_ready(queue)

    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        if not self.input_queues[0]:
            self._queued_since = time.monotonic()
        super().add_input(bundle, index)

    def _bundle_ready(self, queue: collections.deque[RefBundle]) -> bool:
        if not self.exact_min_rows and time.monotonic() - self._queued_since >= BUNDLE_MAX_WAIT_S:
            return True  # a slow upstream: start on what has arrived rather than wait for more
        min_bytes = self.services.min_bundle_bytes() if self.services else 1 << 20
        rows = bytes_ = 0
        for bundle in queue:
            rows += bundle.num_rows
            bytes_ += bundle.size_bytes
            if self.min_rows_per_bundle is not None:
                if rows >= self.min_rows_per_bundle:
                    return True
            elif bytes_ >= min_bytes:
                return True
        return False

    def next_task(self) -> Optional[tuple[TaskSpec, MapTaskInfo]]:
        assert self._fn is not None, "next_task before start"
        seq = self._next_seq
        if self.read_op is not None:
            read_task = self._read_tasks.pop(0)
            spec = TaskSpec(self._fn, payload=self._numbered(seq, read_task), inputs=(), resources=self.resources, operator=self.name,
                            max_block_bytes=self.svc.context.target_max_block_size, stream_outputs=True)
            self._next_seq += 1
            return self._task_options(spec), MapTaskInfo(seq=seq)
        bundles = self._take_bundle()
        refs = [ref for b in bundles for ref in b.refs]
        spec = TaskSpec(self._fn, payload=self._numbered(seq, None), inputs=refs, resources=self.resources, operator=self.name,
                        max_block_bytes=self.svc.context.target_max_block_size, stream_outputs=True)
        self._next_seq += 1
        return self._task_options(spec), MapTaskInfo(seq=seq, bundles=bundles)

    def _task_options(self, spec: TaskSpec) -> TaskSpec:
        """The map's ``ray.remote`` options go with each task (the Ray runtime passes them on), and
        its ``max_retries`` (``ray_remote_args``) also bounds re-runs after worker deaths."""
        spec.ray_options = ray_options(self.ray_remote_args)
        spec.ray_options_fn = self.ray_remote_args_fn
        if self.max_task_retries is not None:
            spec.max_retries = self.max_task_retries
        return spec

    def _numbered(self, seq: int, payload: Any) -> Any:
        """A write's tasks learn their number within the operator (``ctx.task_idx``)."""
        if any(isinstance(t, WriteTransform) for t in self.transforms):
            return NumberedPayload(seq, payload)
        return payload

    def _take_bundle(self) -> list[RefBundle]:
        queue = self.input_queues[0]
        min_bytes = self.svc.min_bundle_bytes()
        taken = []
        rows = bytes_ = 0
        while queue:
            bundle = queue.popleft()
            taken.append(bundle)
            rows += bundle.num_rows
            bytes_ += bundle.size_bytes
            if self.min_rows_per_bundle is not None:
                if rows >= self.min_rows_per_bundle:
                    break
            elif bytes_ >= min_bytes:
                break
        return taken

    def on_task_output(self, handle: TaskHandle, info: MapTaskInfo, outputs: list[tuple[BlockRef, BlockMetadata]]) -> None:
        """Blocks of a still-running task: downstream may start on them now. With
        ``preserve_order`` they wait until every earlier task's outputs are out."""
        seq = info.seq
        bundles = []
        for block in outputs:
            bundles.append(RefBundle([block], owned=True, seq=(seq, info.emitted)))
            info.emitted += 1
        if self.svc.preserve_order:
            self._reorder.setdefault(seq, []).extend(bundles)
            self._flush_ordered()
        else:
            for bundle in bundles:
                self.emit(bundle)

    def on_task_done(self, handle: TaskHandle, info: MapTaskInfo, result: TaskResult) -> None:
        self.on_task_output(handle, info, result.outputs)
        if self.svc.preserve_order:
            self._finished_seqs.add(info.seq)
            self._flush_ordered()

    def on_task_skipped(self, handle: TaskHandle, info: MapTaskInfo) -> None:
        if self.svc.preserve_order:
            self._finished_seqs.add(info.seq)
            self._flush_ordered()

    def _flush_ordered(self) -> None:
        """Emit the head task's outputs as they come; move past it once it has finished."""
        while True:
            for bundle in self._reorder.pop(self._next_emit, []):
                self.emit(bundle)
            if self._next_emit in self._finished_seqs:
                self._finished_seqs.discard(self._next_emit)
                self._next_emit += 1
                continue
            return

    def _pending_work(self) -> bool:
        return bool(self._read_tasks) or bool(self._reorder)

    def queued_output(self) -> tuple[int, int]:
        """Outputs not yet handed downstream, those waiting for an earlier task's under
        ``preserve_order`` included: they hold store bytes, so backpressure must count them."""
        blocks, nbytes = super().queued_output()
        for bundles in self._reorder.values():
            blocks += sum(len(b.blocks) for b in bundles)
            nbytes += sum(b.size_bytes for b in bundles)
        return blocks, nbytes

    def clear_inputs(self) -> list[RefBundle]:
        """Queued inputs, and outputs still waiting for an earlier task's (``preserve_order``):
        a run that fails or stops early frees them with the rest (they used to stay in the store
        for the rest of the session)."""
        held = [b for bundles in self._reorder.values() for b in bundles]
        self._reorder.clear()
        return held + super().clear_inputs()

    def estimated_output_rows(self) -> Optional[int]:
        return self._estimated_rows

    def num_read_tasks_left(self) -> Optional[int]:
        return len(self._read_tasks) if self.read_op is not None else None

    def estimated_source_bytes(self) -> Optional[int]:
        if self.read_op is None:
            return super().estimated_source_bytes()
        try:
            return self.read_op.datasource.estimate_inmemory_data_size()
        except Exception:
            return None

    def progress_rows(self) -> int:
        """A write's output rows are one per file written; progress counts the rows it stored."""
        if any(isinstance(t, WriteTransform) for t in self.transforms):
            return self.metrics.rows_written
        return self.metrics.rows_out


def auto_parallelism(datasource: Datasource, services: ExecutionServices, batch_rows_hint: Optional[int] = None) -> int:
    """Read tasks when the user did not say: enough for every CPU twice over, and about one task
    per ``target_min_block_size`` of data, capped at ``read_op_min_num_blocks`` (or the deprecated
    ``min_parallelism``, see ``DataContext.resolved_read_op_min_num_blocks``)."""
    ctx = services.context
    min_blocks = ctx.resolved_read_op_min_num_blocks()
    cpus = max(1, int(services.runtime.total_resources().cpu))
    size = datasource.estimate_inmemory_data_size()
    by_size = 1 if not size else math.ceil(size / max(1, ctx.target_min_block_size))
    n = max(min(by_size, min_blocks), 2 * cpus)
    rows = source_num_rows(datasource)
    if rows is not None:
        batch = batch_rows_hint
        if batch:
            # a fused map_batches(batch_size=B) right after the read: give each task a few
            # batches, so output arrives (and backpressure acts) in small steps
            n = max(n, min(-(-rows // (4 * batch)), 4 * min_blocks))
        n = max(1, min(n, rows))
    return n


def _preserves_rows(transform: Any) -> bool:
    """Only transforms that promise one output row per input row keep a known row total."""
    check = getattr(transform, "preserves_row_count", None)
    return bool(check()) if check is not None else False


def _first_batch_size(transforms: list) -> Optional[int]:
    """The batch size of the first batch transform fused after a read, if any."""
    for t in transforms:
        size = getattr(t, "batch_size", None)
        if size:
            return int(size)
        if not getattr(t, "preserves_row_count", lambda: False)():
            return None
    return None
