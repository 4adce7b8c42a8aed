"""DownstreamCapacity: an operator waits while the next operator already has more queued input
blocks than ``ratio`` times what it can work on at once (Ray Data's
``downstream_capacity_backpressure_ratio``, default 2; ``None`` turns that off, as in Ray Data,
while the queue to the consumer stays bounded). Keeps a fast stage from racing ahead of a slow one
even when the store has room."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from streamscope.engine.execution.backpressure.base import BackpressurePolicy
from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.physical.operators.base import PhysicalOperator

if TYPE_CHECKING:
    from streamscope.engine.execution.streaming_executor import StreamingExecutor


class DownstreamCapacityPolicy(BackpressurePolicy):
    name = "DownstreamCapacity"

    def __init__(self, ratio: Optional[float] = 2.0, min_queued: int = 4):
        if ratio is not None and not ratio > 0:
            raise ValueError(f"DataContext.downstream_capacity_backpressure_ratio must be > 0 or None (off), got {ratio!r}")
        self.ratio = ratio
        self.min_queued = min_queued

    def blocks(self, op: PhysicalOperator, executor: StreamingExecutor) -> Optional[BlockedReason]:
        consumer = executor.consumer_of(op)
        if consumer is None:
            waiting = executor.consumer_queue_blocks()
            limit = max(self.min_queued, 8)
            if waiting > limit:
                return self.reason(f"{waiting} blocks waiting for the consumer (limit {limit})")
            return None
        if self.ratio is None:  # off between operators; the consumer's queue above stays bounded
            return None
        queued_blocks, _ = consumer.queued_input()
        parallel = max(1, executor.parallelism_of(consumer))
        allowed = max(self.min_queued, self.ratio * parallel)
        if queued_blocks > allowed:
            return self.reason(f"{queued_blocks} blocks queued at {consumer.name} (limit {allowed:g})")
        return None
