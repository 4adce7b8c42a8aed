"""The logical optimizer: applies one rule at a time, bottom-up, until none fires, recording
each firing with the plan before and after it.

The record (rule name, a note, the two plans) is what ``explain()`` and the explain widget show, so
a user can see why the optimized plan differs from what they wrote, one rewrite at a time
(``ds.explain(rules=True)``). One firing per step makes each before/after pair a single rewrite;
plans are small, so walking the tree once per firing costs nothing noticeable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from streamscope.engine.logical.operators import LogicalOperator
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.logical.rules.column_pruning import ColumnPruningRule
from streamscope.engine.logical.rules.limit_pushdown import LimitPushdownRule
from streamscope.engine.logical.rules.predicate_pushdown import PredicatePushdownRule
from streamscope.engine.logical.rules.projection_pushdown import ProjectionPushdownRule

DEFAULT_RULES = (ProjectionPushdownRule(), PredicatePushdownRule(), LimitPushdownRule(), ColumnPruningRule())


@dataclass(frozen=True)
class RuleStep:
    """One firing of a rule: its name, its note, and the whole plan before and after it."""

    rule: str
    note: str
    before: LogicalPlan
    after: LogicalPlan


@dataclass
class OptimizationResult:
    plan: LogicalPlan
    fired: list[tuple[str, str]] = field(default_factory=list)
    steps: list[RuleStep] = field(default_factory=list)


MAX_FIRINGS = 200
"""A rule set that keeps firing is a bug in a rule; stop rather than loop forever."""


def optimize(plan: LogicalPlan, rules=DEFAULT_RULES, max_firings: int = MAX_FIRINGS) -> OptimizationResult:
    result = OptimizationResult(plan)
    dag = plan.dag
    for _ in range(max_firings):
        new_dag, firing = _rewrite_once(dag, rules)
        if firing is None:
            break
        before, after = LogicalPlan(dag), LogicalPlan(new_dag)
        result.fired.append(firing)
        result.steps.append(RuleStep(firing[0], firing[1], before, after))
        dag = new_dag
    result.plan = LogicalPlan(dag)
    return result


def _rewrite_once(op: LogicalOperator, rules) -> tuple[LogicalOperator, Optional[tuple[str, str]]]:
    """The plan with the first firing in post-order applied, and that firing (None: none fires)."""
    for i, inp in enumerate(op.inputs):
        new_inp, firing = _rewrite_once(inp, rules)
        if firing is not None:
            inputs = list(op.inputs)
            inputs[i] = new_inp
            return op.with_inputs(inputs), firing
    for rule in rules:
        rewritten = rule.rewrite(op)
        if rewritten is not None:
            new_op, note = rewritten
            return new_op, (rule.name, note)
    return op, None
