"""ConcurrencyCap: an operator never has more tasks in flight than its cap (``concurrency=`` or
``compute=TaskPoolStrategy(size=n)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from streamscope.engine.execution.backpressure.base import BackpressurePolicy
from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.physical.operators.base import PhysicalOperator

if TYPE_CHECKING:
    from streamscope.engine.execution.streaming_executor import StreamingExecutor


class ConcurrencyCapPolicy(BackpressurePolicy):
    name = "ConcurrencyCap"
    yields_when_downstream_idle = False

    def blocks(self, op: PhysicalOperator, executor: StreamingExecutor) -> Optional[BlockedReason]:
        cap = op.concurrency_cap()
        if cap is not None and len(op.active) >= cap:
            return self.reason(f"{len(op.active)}/{cap} tasks in flight")
        return None
