"""UnionOperator: forwards every input's blocks (in input order when order is preserved)."""

from __future__ import annotations

from streamscope.engine.physical.operators.base import PhysicalOperator, RefBundle, TaskInfo


class UnionOperator(PhysicalOperator[TaskInfo]):
    kind = "UnionOperator"

    def __init__(self, inputs: list[PhysicalOperator]):
        super().__init__("Union", inputs)

    def add_input(self, bundle: RefBundle, index: int = 0) -> None:
        self.metrics.rows_in += bundle.num_rows
        self.metrics.bytes_in += bundle.size_bytes
        self.input_queues[index].append(bundle)
        self.progress_tick()

    def progress_tick(self) -> None:
        preserve = self.services is not None and self.services.preserve_order
        for index, queue in enumerate(self.input_queues):
            if preserve and index > 0 and not all(self.inputs_done[:index]):
                break
            while queue:
                bundle = queue.popleft()
                self.emit(RefBundle(bundle.blocks, bundle.owned, seq=(index,) + tuple(bundle.seq)))
            if preserve and not self.inputs_done[index]:
                break

    def mark_input_done(self, index: int = 0) -> None:
        super().mark_input_done(index)
        self.progress_tick()
