"""Operators with several inputs."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators.base import LogicalOperator


class Union(LogicalOperator):
    kind = "Union"

    def __init__(self, inputs: list[LogicalOperator]):
        super().__init__("Union", inputs)

    def detail(self) -> str:
        return f"num_inputs={len(self.inputs)}"

    def output_num_rows(self) -> Optional[int]:
        rows = [op.output_num_rows() for op in self.inputs]
        return None if any(r is None for r in rows) else sum(rows)  # type: ignore[arg-type]

    def output_schema(self):
        return self.inputs[0].output_schema()
