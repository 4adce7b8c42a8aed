"""A backpressure policy decides whether an operator may start another task right now.

Each policy returns ``None`` (go ahead) or a :class:`BlockedReason` carrying its own name and a
short message; ``str(reason)`` is what the live views show ("OutputBudget: 3 blocks (96 MiB)
waiting downstream").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.physical.operators.base import PhysicalOperator

if TYPE_CHECKING:  # the executor owns its policies: importing it here would be a cycle
    from streamscope.engine.execution.streaming_executor import StreamingExecutor


class BackpressurePolicy:
    name = "Policy"
    yields_when_downstream_idle = True
    """True: the executor lets the operator through anyway when neither it nor anything
    downstream has work in flight, so the policy can never stall the run (budgets and queue
    limits). False for a hard limit that holds regardless (``ConcurrencyCap``: the operator has
    tasks in flight whenever the cap holds it)."""

    def blocks(self, op: PhysicalOperator, executor: StreamingExecutor) -> Optional[BlockedReason]:
        raise NotImplementedError

    def reason(self, message: str) -> BlockedReason:
        return BlockedReason(self.name, message)
