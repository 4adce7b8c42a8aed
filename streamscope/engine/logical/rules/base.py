"""A rewrite rule: looks at one operator (with its inputs already rewritten) and may replace it."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators import LogicalOperator


class Rule:
    name = "Rule"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        """Return (replacement, note) when the rule fires at ``op``, else None."""
        raise NotImplementedError
