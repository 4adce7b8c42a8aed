"""OutputBudget: bounds the bytes an operator has produced that nobody has consumed yet.

Why: this is what keeps memory bounded when a fast producer feeds a slow consumer (or a dataset
is many times the store's capacity). Each operator gets an equal share of the store budget; an
operator whose pending output (its output queue, the next operator's input queue, and the
consumer's queue for the last one) plus one more task's expected output would exceed its share
waits until downstream catches up. Running tasks count with the average output of the tasks that
already finished, so a stage of few, large tasks cannot overshoot. At least one task is always
allowed when nothing is pending, so a single huge block cannot deadlock the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from streamscope.engine.execution.backpressure.base import BackpressurePolicy
from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.units import format_bytes

if TYPE_CHECKING:
    from streamscope.engine.execution.streaming_executor import StreamingExecutor


class OutputBudgetPolicy(BackpressurePolicy):
    name = "OutputBudget"

    def blocks(self, op: PhysicalOperator, executor: StreamingExecutor) -> Optional[BlockedReason]:
        budget = executor.op_output_budget(op)
        if budget is None:
            return None
        pending = executor.pending_output_bytes(op)
        expected = executor.expected_task_output_bytes(op)
        in_flight = expected * len(op.active)
        if pending + in_flight <= 0:
            return None
        if pending + in_flight + expected > budget:
            return self.reason(f"{format_bytes(pending)} waiting downstream, {format_bytes(in_flight)} expected "
                               f"from {len(op.active)} running tasks (budget {format_bytes(budget)})")
        return None
