"""Limit: the first ``limit`` rows; upstream work stops once they are out."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators.base import LogicalOperator


class Limit(LogicalOperator):
    kind = "Limit"

    def __init__(self, input_op: LogicalOperator, limit: int):
        super().__init__(f"limit={limit}", [input_op])
        self.limit = limit

    def detail(self) -> str:
        return f"limit={self.limit}"

    def output_num_rows(self) -> Optional[int]:
        upstream = self.inputs[0].output_num_rows()
        return None if upstream is None else min(upstream, self.limit)

    def output_schema(self):
        return self.inputs[0].output_schema()
