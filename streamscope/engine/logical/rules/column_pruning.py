"""Column pruning: when an operator declares the only columns it reads (a group-by aggregation
reads its keys and the aggregated columns), the reader below it — through expression filters —
decodes just those columns.

Why: ``read_parquet(...).filter(expr="amount > 100").groupby("customer_id").aggregate(Sum("amount"))``
never looks at the other columns, and skipping them is the largest saving a columnar file offers.
Stops at any user function, whose needs are unknown.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators import Exchange, Filter, LogicalOperator, Read
from streamscope.engine.logical.rules.base import Rule


class ColumnPruningRule(Rule):
    name = "ColumnPruning"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        if not isinstance(op, Exchange) or len(op.inputs) != 1:
            return None
        required_fn = getattr(op.spec, "required_columns", None)
        needed = required_fn() if required_fn is not None else None
        if needed is None:
            return None
        needed = set(needed)
        chain: list[LogicalOperator] = []
        node = op.inputs[0]
        while isinstance(node, Filter) and node.expr is not None:
            needed |= set(node.expr.columns())
            chain.append(node)
            node = node.inputs[0]
        if not isinstance(node, Read) or not node.datasource.supports_projection_pushdown():
            return None
        schema = node.output_schema()
        if schema is None or any(c not in schema.names for c in needed):
            return None
        columns = [c for c in schema.names if c in needed]
        if not columns or len(columns) == len(schema.names):
            return None
        new_node: LogicalOperator = node.replace(datasource=node.datasource.apply_projection(columns))
        for filt in reversed(chain):
            new_node = filt.with_inputs([new_node])
        return op.with_inputs([new_node]), f"{op.name} reads only {columns} from {node.name}"
