"""ExchangeOperator: schedules any exchange (groupby, sort, shuffle, join, zip...) as tasks.

Phases, shown as ``phase`` in telemetry, plans and stats:

1. ``sample`` / ``map`` (streaming): a task starts on input blocks as soon as enough arrive, while
   upstream operators are still producing. Map tasks partition their rows (after partial
   aggregation, for groupbys) and store one block per partition in the object store; the input
   blocks are freed as each map task finishes.
2. barrier: once every input is done (and, for sort, the samples gave range boundaries, then the
   held inputs are partitioned), the spec plans the reduce tasks from block metadata alone.
3. ``reduce``: each task merges one partition; its intermediate inputs are freed when it finishes.
   Outputs are emitted in partition order when the spec asks for it (sort, zip, splits).

Nothing here reads a data block in the driver; only sample tables (a few rows per input block)
are fetched. Every intermediate block lives in the store, so a shuffle larger than the store's
capacity spills to disk and completes.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Literal, Optional

import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.physical.exchange import ExchangeSpec
from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.runtime.base import BlockRef, FunctionHandle, Resources, TaskHandle, TaskResult, TaskSpec

Block = tuple[BlockRef, BlockMetadata]


@dataclass(kw_only=True)
class ExchangeTaskInfo(TaskInfo):
    """An exchange task's bookkeeping: its phase, and which input or partition it works on."""

    phase: Literal["sample", "map", "reduce"]
    input_index: int = 0
    """sample and map tasks: the input (upstream operator) whose blocks the task reads."""
    index: int = 0
    """reduce tasks: the task's number (its outputs are emitted in this order when the spec asks)."""


class ExchangeOperator(PhysicalOperator[ExchangeTaskInfo]):
    kind = "Exchange"

    def __init__(self, name: str, inputs: list[PhysicalOperator], spec: ExchangeSpec, kind: Optional[str] = None):
        super().__init__(name, inputs, (name,))
        self.spec = spec.for_run()  # this run's state lives on its own copy, never on the plan's
        if kind:
            self.kind = kind
        self.num_partitions = 0
        self._fns: dict[str, FunctionHandle] = {}
        self._stage = "map"
        self._held: list[list[RefBundle]] = [[] for _ in self.input_queues]
        self._map_queue: collections.deque[tuple[int, list[RefBundle]]] = collections.deque()
        self._parts: list[list[list[Block]]] = []  # [input][partition] -> map outputs
        self._schemas: list[Optional[pa.Schema]] = [None] * len(self.input_queues)
        self._samples: list[pa.Table] = []
        self._map_tasks = 0
        self._reduce_queue: collections.deque[tuple[int, Any, list[BlockRef], list[RefBundle]]] = collections.deque()
        """(task index, payload, input refs, bundles the task frees)."""
        self._reduce_total = 0
        self._reduce_done: dict[int, list[Block]] = {}
        self._next_emit = 0
        self._positional_free: list[BlockRef] = []
        self.phase = "map" if (spec.sample_fn is None) else "sample"

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self, services: ExecutionServices) -> None:
        super().start(services)
        ctx = services.context
        cpus = int(services.runtime.total_resources().cpu) or 1
        capacity = ctx.resolved_store_capacity()
        est = sum(filter(None, (op.estimated_source_bytes() for op in self.inputs))) or None
        self.num_partitions = self.spec.resolve_partitions(est, cpus, capacity, ctx.resolved_hash_shuffle_parallelism())
        self.spec.setup(self.num_partitions)
        self._parts = [[[] for _ in range(self.num_partitions)] for _ in self.input_queues]
        for phase in ("sample", "map", "reduce"):
            fn = getattr(self.spec, f"{phase}_fn", None)
            if fn is not None and hasattr(fn, "for_execution"):
                fn = fn.for_execution()  # this run's copy (expressions that number executions)
            if fn is not None:
                self._fns[phase] = services.register(fn, f"{self.name}.{phase}")

    def shutdown(self) -> None:
        if self.services is None:
            return
        leftovers = [r for per in self._parts for part in per for r, _ in part]
        if self.spec.map_fn is not None:
            for _, _, refs, _ in self._reduce_queue:
                leftovers.extend(refs)
        for outs in self._reduce_done.values():
            leftovers.extend(r for r, _ in outs)
        self._parts = []
        self._reduce_queue.clear()
        self._reduce_done.clear()
        self.services.free(leftovers)
        self.services.free(self._positional_free)
        self._positional_free = []
        for handle in self._fns.values():
            self.services.runtime.release_function(handle)
        self._fns = {}

    # ---- scheduling ----------------------------------------------------------------------------
    def has_next_task(self) -> bool:
        if self.completed_early:
            return False
        if self._stage == "map":
            if self.spec.sample_fn is not None:
                return any(self.input_queues)
            if self.spec.map_fn is not None:
                return any(self._map_ready(i) for i in range(len(self.input_queues)))
            return False
        if self._stage == "map2":
            return bool(self._map_queue)
        if self._stage == "reduce":
            return bool(self._reduce_queue)
        return False

    def _map_ready(self, index: int) -> bool:
        queue = self.input_queues[index]
        if not queue:
            return False
        if self.inputs_done[index] or len(queue) >= self.spec.map_input_blocks:
            return True
        return sum(b.size_bytes for b in queue) >= self.spec.map_input_bytes

    def _take(self, index: int) -> list[RefBundle]:
        queue = self.input_queues[index]
        taken: list[RefBundle] = []
        nbytes = 0
        while queue and nbytes < self.spec.map_input_bytes and len(taken) < self.spec.map_input_blocks:
            bundle = queue.popleft()
            taken.append(bundle)
            nbytes += bundle.size_bytes
        return taken

    def next_task(self) -> Optional[tuple[TaskSpec, ExchangeTaskInfo]]:
        if self._stage == "map" and self.spec.sample_fn is not None:
            index = next(i for i, q in enumerate(self.input_queues) if q)
            bundle = self.input_queues[index].popleft()
            self._held[index].append(bundle)
            spec = TaskSpec(self._fns["sample"], payload=index, inputs=bundle.refs, operator=self.name)
            return spec, ExchangeTaskInfo(phase="sample", input_index=index)
        if self._stage == "map":
            index = next(i for i in range(len(self.input_queues)) if self._map_ready(i))
            return self._map_spec(index, self._take(index))
        if self._stage == "map2":
            index, bundles = self._map_queue.popleft()
            return self._map_spec(index, bundles)
        k, payload, refs, bundles = self._reduce_queue.popleft()
        spec = TaskSpec(self._fns["reduce"], payload=payload, inputs=refs, operator=self.name,
                        max_block_bytes=self.svc.context.target_max_block_size)
        return spec, ExchangeTaskInfo(phase="reduce", index=k, bundles=bundles)

    def _map_spec(self, index: int, bundles: list[RefBundle]) -> tuple[TaskSpec, ExchangeTaskInfo]:
        refs = [r for b in bundles for r in b.refs]
        payload = self.spec.map_payload(index, self._map_tasks)
        self._map_tasks += 1
        # max_block_bytes=None: each yielded table is exactly one block, so outputs[i] is partition i
        spec = TaskSpec(self._fns["map"], payload=payload, inputs=refs, operator=self.name, max_block_bytes=None)
        return spec, ExchangeTaskInfo(phase="map", input_index=index, bundles=bundles)

    def task_resources(self) -> Resources:
        return Resources(cpu=1.0)

    def on_task_done(self, handle: TaskHandle, info: ExchangeTaskInfo, result: TaskResult) -> None:
        services = self.svc
        if info.phase == "sample":
            for ref, _ in result.outputs:
                self._samples.append(services.runtime.get(ref))
            services.free([r for r, _ in result.outputs])
        elif info.phase == "map":
            index = info.input_index
            outputs = result.outputs
            if len(outputs) != self.num_partitions:
                services.free([r for r, _ in outputs])
                raise RuntimeError(f"{self.name}: a map task produced {len(outputs)} partitions, expected {self.num_partitions}")
            empty: list[BlockRef] = []
            for p, (ref, meta) in enumerate(outputs):
                if self._schemas[index] is None and meta.schema is not None and len(meta.schema):
                    self._schemas[index] = meta.schema
                if meta.num_rows == 0:
                    empty.append(ref)
                else:
                    self._parts[index][p].append((ref, meta))
            services.free(empty)
        else:
            self._reduce_done[info.index] = list(result.outputs)
            self._emit_ready()

    def _emit_ready(self) -> None:
        if self.spec.ordered_output:
            while self._next_emit in self._reduce_done:
                outs = self._reduce_done.pop(self._next_emit)
                if outs:
                    self.emit(RefBundle(outs, owned=True, seq=(self._next_emit,)))
                self._next_emit += 1
        else:
            for k in sorted(self._reduce_done):
                outs = self._reduce_done.pop(k)
                if outs:
                    self.emit(RefBundle(outs, owned=True, seq=(k,)))
                self._next_emit += 1

    # ---- barrier transitions ---------------------------------------------------------------------
    def progress_tick(self) -> None:
        if self.completed_early or self.services is None:
            return
        if self._stage == "map":
            if self.spec.sample_fn is None and self.spec.map_fn is None:
                for i, queue in enumerate(self.input_queues):
                    while queue:
                        self._held[i].append(queue.popleft())
            if self.all_inputs_done() and not any(self.input_queues) and not self.active:
                if self.spec.sample_fn is not None:
                    self.spec.on_samples(self._samples)
                    self._samples = []
                    for i, held in enumerate(self._held):
                        self._schemas[i] = next((m.schema for b in held for _, m in b.blocks if m.schema is not None), None)
                        group: list[RefBundle] = []
                        nbytes = 0
                        for bundle in held:
                            group.append(bundle)
                            nbytes += bundle.size_bytes
                            if nbytes >= self.spec.map_input_bytes:
                                self._map_queue.append((i, group))
                                group, nbytes = [], 0
                        if group:
                            self._map_queue.append((i, group))
                    self._held = [[] for _ in self._held]
                    self._stage = "map2"
                    self.phase = "map"
                else:
                    self._plan_reduce()
        if self._stage == "map2" and not self._map_queue and not self.active:
            self._plan_reduce()

    def _plan_reduce(self) -> None:
        self._stage = "reduce"
        self.phase = "reduce"
        self.spec.input_schemas = list(self._schemas)
        if self.spec.map_fn is None:
            # positional exchanges read the raw inputs in dataset order
            parts: list[list[Block]] = []
            for i, held in enumerate(self._held):
                held.sort(key=lambda b: b.seq)
                blocks = [blk for b in held for blk in b.blocks]
                self._schemas[i] = next((m.schema for _, m in blocks if m.schema is not None), None)
                parts.append(blocks)
                self._positional_free.extend(r for b in held if b.owned for r in b.refs)
            self.spec.input_schemas = list(self._schemas)
            self._held = [[] for _ in self._held]
            for k, (payload, refs) in enumerate(self.spec.reduce_tasks(parts)):
                self._reduce_queue.append((k, payload, refs, []))
        else:
            metas = {r: m for per in self._parts for part in per for r, m in part}
            tasks = self.spec.reduce_tasks(self._parts)
            for k, (payload, refs) in enumerate(tasks):
                # each intermediate block has exactly one reader: the reduce task frees it
                bundle = RefBundle([(r, metas[r]) for r in refs], owned=True)
                self._reduce_queue.append((k, payload, refs, [bundle] if refs else []))
            self._parts = [[[] for _ in range(self.num_partitions)] for _ in self.input_queues]
        self._reduce_total = len(self._reduce_queue)

    def _pending_work(self) -> bool:
        if self.completed_early:
            return False
        if self._stage != "reduce":
            return True
        if self._reduce_queue or self._reduce_done or self._next_emit < self._reduce_total:
            return True
        if self._positional_free and not self.active:
            self.svc.free(self._positional_free)
            self._positional_free = []
        return False

    def clear_inputs(self) -> list[RefBundle]:
        held = [b for per in self._held for b in per]
        self._held = [[] for _ in self._held]
        held.extend(b for _, group in self._map_queue for b in group)
        self._map_queue.clear()
        return held + super().clear_inputs()

