"""Predicate pushdown: an expression filter (``filter(expr="amount > 100")``,
``filter(expr=col("a") > 1)``) right after a read becomes part of the scan, so the reader skips
row groups by statistics and never materializes rows that fail it.

Only the conjuncts (``a & b & ...`` parts) pyarrow can evaluate go down: a Python UDF, a
download or ``random()`` cannot run inside a scan, so a filter holding one keeps those parts as a
``Filter`` after the read (``explain()`` shows both: the pushed part on the read, the rest as the
filter). A conjunct adding strings (``col("s") + "x"``: the block evaluator concatenates, a scan's
``+`` is numeric only) stays in the filter too, where the read's schema tells.
"""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.expressions import Arith, BoolOp, Expr, Operation
from streamscope.engine.logical.operators import Filter, LogicalOperator, Read
from streamscope.engine.logical.rules.base import Rule
from streamscope.engine.transforms.expression_transforms import ExprFilterTransform


def _conjuncts(expr: Expr) -> list[Expr]:
    if isinstance(expr, BoolOp) and expr.op == Operation.AND:
        return list(expr.operands)
    return [expr]


def _join(parts: list[Expr]) -> Expr:
    return parts[0] if len(parts) == 1 else BoolOp(Operation.AND, tuple(parts))


def _pushable(part: Expr, schema: Optional[pa.Schema]) -> bool:
    if not (part._is_pyarrow_convertible() and part.is_idempotent()):
        return False
    if not any(isinstance(n, Arith) and n.op == Operation.ADD for n in part._walk()):
        return True
    if schema is None:
        return True  # the datasource's own translation decides (its schema is learned by reading)
    try:  # the scan evaluates the pyarrow form, where ``+`` is numeric: it must bind to the read's columns
        schema.empty_table().filter(part.to_pyarrow())
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


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
        parts = _conjuncts(op.expr)
        pushed = [p for p in parts if _pushable(p, schema)]
        if not pushed:
            return None
        rest = [p for p in parts if not any(p is q for q in pushed)]
        expr = _join(pushed)
        new_read = child.replace(datasource=child.datasource.apply_predicate(expr))
        if not rest:
            return new_read, f"filter {op.expr} pushed into {child.name}"
        remaining = _join(rest)
        executions = getattr(op.transform, "_executions", None)  # runs keep counting across re-optimizations
        kept: Any = op.replace(inputs=[new_read], expr=remaining, transform=ExprFilterTransform(remaining, executions),
                               name=f"Filter({remaining})")
        return kept, f"filter {expr} pushed into {child.name}; {remaining} stays a filter (not evaluable in the scan)"
