"""Operators that wait for all input first: repartition (without shuffle) and block-order
randomization. They work on block metadata; repartition moves rows with slice tasks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, TypeVar

from streamscope.engine.block import BlockMetadata
from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.runtime.base import BlockRef, FunctionHandle, Resources, TaskHandle, TaskResult, TaskSpec
from streamscope.engine.transforms.columns import SliceTransform

_InfoT = TypeVar("_InfoT", bound=TaskInfo)


@dataclass(kw_only=True)
class RepartitionTaskInfo(TaskInfo):
    """A repartition slice task's bookkeeping: which output block it makes."""

    index: int


class _BarrierOperator(PhysicalOperator[_InfoT]):
    def __init__(self, name: str, input_op: PhysicalOperator, logical_name: str):
        super().__init__(name, [input_op], (logical_name,))
        self._collected: list[RefBundle] = []
        self._released = False

    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        self.metrics.rows_in += bundle.num_rows
        self.metrics.bytes_in += bundle.size_bytes
        self._collected.append(bundle)

    def progress_tick(self) -> None:
        if not self._released and self.all_inputs_done():
            self._released = True
            self.release(self._collected)

    def release(self, bundles: list[RefBundle]) -> None:
        raise NotImplementedError

    def _pending_work(self) -> bool:
        return not self._released

    def clear_inputs(self) -> list[RefBundle]:
        dropped = self._collected if not self._released else []
        self._collected = []
        return dropped + super().clear_inputs()


class RandomizeBlocksOperator(_BarrierOperator[TaskInfo]):
    kind = "RandomizeBlockOrder"

    def __init__(self, input_op: PhysicalOperator, seed: Optional[int]):
        super().__init__("RandomizeBlockOrder", input_op, f"RandomizeBlockOrder[seed={seed}]")
        self.seed = seed

    def release(self, bundles: list[RefBundle]) -> None:
        blocks = [(b.owned, blk) for b in bundles for blk in b.blocks]
        random.Random(self.seed).shuffle(blocks)
        for i, (owned, blk) in enumerate(blocks):
            self.emit(RefBundle([blk], owned=owned, seq=(i,)))


class RepartitionOperator(_BarrierOperator[RepartitionTaskInfo]):
    """Splits/merges blocks into ``num_blocks`` of near-equal row counts, keeping row order."""

    kind = "Repartition"

    def __init__(self, input_op: PhysicalOperator, num_blocks: Optional[int], target_rows: Optional[int],
                 strict: bool = False):
        label = f"num_blocks={num_blocks}" if num_blocks is not None else f"target_num_rows_per_block={target_rows}"
        super().__init__("Repartition", input_op, f"Repartition[{label}{', strict' if strict else ''}]")
        self.num_blocks = num_blocks
        self.target_rows = target_rows
        self.strict = strict
        self._fn: Optional[FunctionHandle] = None
        self._tasks: list[tuple[int, list[BlockRef], tuple[int, int]]] = []
        self._results: dict[int, list[tuple[BlockRef, BlockMetadata]]] = {}
        self._inputs: list[RefBundle] = []
        self._expected = 0

    def start(self, services: ExecutionServices) -> None:
        super().start(services)
        self._fn = services.register(SliceTransform(), "Repartition")

    def release(self, bundles: list[RefBundle]) -> None:
        self._inputs = bundles
        blocks = [blk for b in bundles for blk in b.blocks]
        total = sum(m.num_rows for _, m in blocks)
        if self.num_blocks is not None:
            n = max(1, self.num_blocks)
        else:
            n = max(1, -(-total // max(1, self.target_rows or 1)))
        if self.strict and self.target_rows:  # exact blocks; the remainder goes last
            starts = [min(total, i * self.target_rows) for i in range(n + 1)]
        else:
            starts = [total * i // n for i in range(n + 1)]
        offsets = []
        acc = 0
        for _, meta in blocks:
            offsets.append(acc)
            acc += meta.num_rows
        for i in range(n):
            lo, hi = starts[i], starts[i + 1]
            refs: list[BlockRef] = []
            first_offset: Optional[int] = None
            for (ref, meta), off in zip(blocks, offsets):
                if off + meta.num_rows > lo and off < hi:
                    refs.append(ref)
                    if first_offset is None:
                        first_offset = off
            self._tasks.append((i, refs, (lo - (first_offset or 0), hi - lo)))
        self._expected = n

    def has_next_task(self) -> bool:
        return bool(self._tasks)

    def task_resources(self) -> Resources:
        return Resources(cpu=1.0)

    def next_task(self) -> Optional[tuple[TaskSpec, RepartitionTaskInfo]]:
        assert self._fn is not None, "next_task before start"
        index, refs, bounds = self._tasks.pop(0)
        spec = TaskSpec(self._fn, payload=bounds, inputs=refs, operator="Repartition")
        return spec, RepartitionTaskInfo(index=index)

    def on_task_done(self, handle: TaskHandle, info: RepartitionTaskInfo, result: TaskResult) -> None:
        self._results[info.index] = result.outputs
        if len(self._results) == self._expected:
            for i in range(self._expected):
                outs = self._results[i]
                if outs:
                    self.emit(RefBundle(list(outs), owned=True, seq=(i,)))
            # inputs are no longer needed once every slice exists
            owned = [r for b in self._inputs if b.owned for r in b.refs]
            self.svc.free(owned)
            self._inputs = []
            self._results, self._expected = {}, 0  # the slices belong downstream now

    def _pending_work(self) -> bool:
        return not self._released or bool(self._tasks) or len(self._results) < self._expected

    def shutdown(self) -> None:
        """A run that ends before every slice exists (cancel, error, interrupt) still owns the
        input blocks being sliced and the slices already made: free them."""
        if self.services is None:
            return
        leftovers = [r for b in self._inputs if b.owned for r in b.refs]
        leftovers += [r for outs in self._results.values() for r, _ in outs]
        self._inputs, self._results, self._tasks = [], {}, []
        self.services.free(leftovers)
