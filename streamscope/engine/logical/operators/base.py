"""LogicalOperator: one node of the plan a Dataset builds. Immutable; rules build new nodes."""

from __future__ import annotations

import copy
import itertools
from typing import Any, Optional

_ids = itertools.count(1)


class LogicalOperator:
    """A node of the logical plan.

    ``kind`` is the operator class as Ray Data names it in ``explain()`` (``MapRows``, ``Read``,
    ``Limit``...); ``name`` is the instance label (``Map(<lambda>)``, ``ReadParquet``).
    """

    kind: str = "Operator"

    def __init__(self, name: str, inputs: list["LogicalOperator"]):
        self.name = name
        self.inputs = list(inputs)
        self.uid = next(_ids)

    def with_inputs(self, inputs: list["LogicalOperator"]) -> "LogicalOperator":
        clone = copy.copy(self)
        clone.inputs = list(inputs)
        return clone

    def replace(self, **changes: Any) -> "LogicalOperator":
        clone = copy.copy(self)
        for key, value in changes.items():
            setattr(clone, key, value)
        return clone

    def detail(self) -> str:
        """Bracketed detail shown after the kind in explain(), e.g. ``limit=10``."""
        return self.name

    def label(self) -> str:
        return f"{self.kind}[{self.detail()}]"

    # ---- metadata the planner may know without running anything ----
    def output_num_rows(self) -> Optional[int]:
        return None

    def output_schema(self) -> Any:
        return None

    def preserves_row_count(self) -> bool:
        """True when each input row yields exactly one output row (limits may move below it)."""
        return False

    def __repr__(self) -> str:
        return self.label()
