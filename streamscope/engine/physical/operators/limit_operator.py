"""LimitOperator: passes whole blocks until the limit, slices the last one, then needs no more
input, so the executor stops everything upstream (the generic rule, nothing limit-specific)."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.runtime.base import FunctionHandle, Resources, TaskHandle, TaskResult, TaskSpec
from streamscope.engine.transforms.columns import SliceTransform


class LimitOperator(PhysicalOperator[TaskInfo]):
    kind = "LimitOperator"

    def __init__(self, input_op: PhysicalOperator, limit: int):
        super().__init__(f"limit={limit}", [input_op], (f"Limit[limit={limit}]",))
        self.limit = limit
        self.remaining = limit
        self._slice_fn: Optional[FunctionHandle] = None
        self._pending_slices: list[tuple[RefBundle, int]] = []

    def start(self, services: ExecutionServices) -> None:
        super().start(services)
        self._slice_fn = services.register(SliceTransform(), "Limit")

    def shutdown(self) -> None:
        if self._slice_fn is not None and self.services is not None:
            self.services.runtime.release_function(self._slice_fn)

    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        self.metrics.rows_in += bundle.num_rows
        self.metrics.bytes_in += bundle.size_bytes
        if self.remaining <= 0:
            raise RuntimeError(f"{self.name}: input arrived after the limit was reached")
        rows = bundle.num_rows
        if rows <= self.remaining:
            self.remaining -= rows
            self.emit(bundle)
        else:
            self._pending_slices.append((bundle, self.remaining))
            self.remaining = 0

    @property
    def satisfied(self) -> bool:
        return self.remaining <= 0

    def needs_more_input(self) -> bool:
        return not self.satisfied and super().needs_more_input()

    def has_next_task(self) -> bool:
        return bool(self._pending_slices)

    def task_resources(self) -> Resources:
        return Resources(cpu=0.0)

    def next_task(self) -> Optional[tuple[TaskSpec, TaskInfo]]:
        assert self._slice_fn is not None, "next_task before start"
        bundle, keep = self._pending_slices.pop(0)
        spec = TaskSpec(self._slice_fn, payload=(0, keep), inputs=bundle.refs, resources=Resources(cpu=0.0), operator="Limit")
        return spec, TaskInfo(bundles=[bundle])

    def on_task_done(self, handle: TaskHandle, info: TaskInfo, result: TaskResult) -> None:
        for block in result.outputs:
            self.emit(RefBundle([block], owned=True, seq=info.bundles[0].seq))

    def is_finished(self) -> bool:
        if self.satisfied:
            return not self._pending_slices and not self.active
        return self.all_inputs_done() and not self._pending_slices and not self.active

    def estimated_output_rows(self) -> Optional[int]:
        return self.limit
