"""Predicate pushdown: an expression filter (``filter(expr="amount > 100")``) right after a read
becomes part of the scan, so the reader skips row groups by statistics and never materializes
rows that fail it."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators import Filter, LogicalOperator, Read
from streamscope.engine.logical.rules.base import Rule


class PredicatePushdownRule(Rule):
    name = "PredicatePushdown"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        if not isinstance(op, Filter) or op.expr is None:
            return None
        child = op.inputs[0]
        if not isinstance(child, Read) or not child.datasource.supports_predicate_pushdown():
            return None
        schema = child.output_schema()
        if schema is not None and any(c not in schema.names for c in op.expr.columns()):
            return None  # the Filter itself raises the clear missing-column error
        new_read = child.replace(datasource=child.datasource.apply_predicate(op.expr))
        return new_read, f"filter {op.expr} pushed into {child.name}"
