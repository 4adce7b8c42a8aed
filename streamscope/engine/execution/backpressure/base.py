"""A backpressure policy decides whether an operator may start another task right now.

Each policy returns ``None`` (go ahead) or a :class:`BlockedReason` carrying its own name and a
short message; ``str(reason)`` is what the live views show ("OutputBudget: 3 blocks (96 MiB)
waiting downstream").
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.execution.blocked_reason import BlockedReason


class BackpressurePolicy:
    name = "Policy"

    def blocks(self, op: Any, executor: Any) -> Optional[BlockedReason]:
        raise NotImplementedError

    def reason(self, message: str) -> BlockedReason:
        return BlockedReason(self.name, message)
