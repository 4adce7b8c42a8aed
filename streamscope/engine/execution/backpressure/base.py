"""A backpressure policy decides whether an operator may start another task right now.

Each policy returns ``None`` (go ahead) or a short reason naming itself; the reason is what the
live views show ("backpressured by OutputBudget: 3 blocks (96 MiB) waiting downstream").
"""

from __future__ import annotations

from typing import Any, Optional


class BackpressurePolicy:
    name = "Policy"

    def blocks(self, op: Any, executor: Any) -> Optional[str]:
        raise NotImplementedError
