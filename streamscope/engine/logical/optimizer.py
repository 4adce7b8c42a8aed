"""The logical optimizer: applies each rule bottom-up until none fires, recording what fired.

The record (rule name + a note per firing) is what ``explain()`` and the explain widget show, so a
user can see why the optimized plan differs from what they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamscope.engine.logical.operators import LogicalOperator
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.logical.rules.column_pruning import ColumnPruningRule
from streamscope.engine.logical.rules.limit_pushdown import LimitPushdownRule
from streamscope.engine.logical.rules.predicate_past_columns import PredicatePastColumnsRule
from streamscope.engine.logical.rules.predicate_pushdown import PredicatePushdownRule
from streamscope.engine.logical.rules.projection_pushdown import ProjectionPushdownRule

DEFAULT_RULES = (ProjectionPushdownRule(), PredicatePastColumnsRule(), PredicatePushdownRule(), LimitPushdownRule(),
                 ColumnPruningRule())


@dataclass
class OptimizationResult:
    plan: LogicalPlan
    fired: list[tuple[str, str]] = field(default_factory=list)


def optimize(plan: LogicalPlan, rules=DEFAULT_RULES, max_passes: int = 20) -> OptimizationResult:
    fired: list[tuple[str, str]] = []
    dag = plan.dag
    for _ in range(max_passes):
        dag, changed = _rewrite(dag, rules, fired)
        if not changed:
            break
    return OptimizationResult(LogicalPlan(dag), fired)


def _rewrite(op: LogicalOperator, rules, fired) -> tuple[LogicalOperator, bool]:
    changed = False
    new_inputs = []
    for inp in op.inputs:
        new_inp, c = _rewrite(inp, rules, fired)
        new_inputs.append(new_inp)
        changed |= c
    if changed:
        op = op.with_inputs(new_inputs)
    for rule in rules:
        result = rule.rewrite(op)
        if result is not None:
            op, note = result
            fired.append((rule.name, note))
            return op, True
    return op, changed
