"""Filter past expression columns: ``with_column(...).filter(expr=...)`` where the filter reads
none of the columns the ``with_column`` writes becomes ``filter(...).with_column(...)``, so the
filter can go on down into the read (scan filters, partition pruning) and the columns are
computed for the rows kept only.

Moved only when that cannot change a value: the filter and every column expression are
idempotent (no ``random()``, ``uuid()``, ``monotonically_increasing_id()``, whose values depend
on which rows a block holds) and the column expressions are pyarrow kernels, which compute each
row from that row alone (a Python UDF sees whole batches and might not).
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators import AddColumn, Filter, LogicalOperator
from streamscope.engine.logical.rules.base import Rule
from streamscope.engine.transforms.expression_transforms import WithColumnsTransform


class PredicatePastColumnsRule(Rule):
    name = "PredicatePastColumns"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        if not isinstance(op, Filter) or op.expr is None or not op.expr.is_idempotent():
            return None
        child = op.inputs[0]
        if not isinstance(child, AddColumn) or not isinstance(child.transform, WithColumnsTransform):
            return None
        items = child.transform.items
        if any(name is None or not (e._is_pyarrow_convertible() and e.is_idempotent()) for name, e in items):
            return None
        if set(op.expr.columns()) & {name for name, _ in items}:
            return None
        moved = op.with_inputs([child.inputs[0]])
        return child.with_inputs([moved]), f"filter {op.expr} moved below {child.name}"
