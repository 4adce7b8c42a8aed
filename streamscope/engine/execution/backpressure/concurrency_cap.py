"""ConcurrencyCap: an operator never has more tasks in flight than its cap (``concurrency=`` or
``compute=TaskPoolStrategy(size=n)``)."""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.execution.backpressure.base import BackpressurePolicy
from streamscope.engine.execution.blocked_reason import BlockedReason


class ConcurrencyCapPolicy(BackpressurePolicy):
    name = "ConcurrencyCap"

    def blocks(self, op: Any, executor: Any) -> Optional[BlockedReason]:
        cap = op.concurrency_cap()
        if cap is not None and len(op.active) >= cap:
            return self.reason(f"{len(op.active)}/{cap} tasks in flight")
        return None
