"""BlockedReason: why an operator may not start another task right now, as a small value.

Why a value and not a string: the executor charges backpressure time only for policies (a full
machine is not backpressure), and the bottleneck rule must tell a stage *held back by downstream*
from one waiting for CPU slots. Telling them apart by parsing a string's prefix breaks as soon as
a message changes; a value with the policy's name beside its message does not. The views show
``str(reason)`` ("DownstreamCapacity: 9 blocks queued at Model (limit 4)").

Example::

    >>> from streamscope.engine.execution.blocked_reason import BlockedReason, RESOURCES
    >>> r = BlockedReason("OutputBudget", "12 MiB waiting downstream (budget 8 MiB)")
    >>> str(r), r.is_backpressure, BlockedReason(RESOURCES, "all CPU slots busy").is_backpressure
    ('OutputBudget: 12 MiB waiting downstream (budget 8 MiB)', True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

RESOURCES = "resources"
"""``BlockedReason.policy`` when the resource manager holds the operator (CPU/GPU slots or
memory requests at their limit): the machine is full, no policy is holding it back."""


@dataclass(frozen=True)
class BlockedReason:
    policy: str
    """The backpressure policy's name (``ConcurrencyCap``, ``OutputBudget``,
    ``DownstreamCapacity``) or :data:`RESOURCES`."""
    message: str
    """What the views show after the policy's name."""

    @property
    def is_backpressure(self) -> bool:
        """True when a backpressure policy holds the operator (counted as backpressure time)."""
        return self.policy != RESOURCES

    def __str__(self) -> str:
        return f"{self.policy}: {self.message}"


__all__ = ["BlockedReason", "RESOURCES"]
