"""Write: sends every block to a Datasink (two-phase: temporary files, renamed on success)."""

from __future__ import annotations

from typing import Any

from streamscope.engine.logical.operators.base import LogicalOperator


class Write(LogicalOperator):
    kind = "Write"

    def __init__(self, input_op: LogicalOperator, datasink: Any, concurrency=None):
        super().__init__(datasink.get_name(), [input_op])
        self.datasink = datasink
        self.concurrency = concurrency
