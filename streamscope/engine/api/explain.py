"""ExplainResult: the plans of a Dataset as text and graphs, without executing anything.

Logical (as written), optimized logical (after the rules, with what fired), physical (after
fusion). The text mirrors Ray Data's ``explain()`` layout; the :class:`PlanGraph` feeds the
plan-graph widgets, and ``dot`` is written from that same graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanGraph


@dataclass(frozen=True)
class PlanView:
    """One plan: Ray Data's text layout and the graph views draw."""

    text: str
    graph: PlanGraph

    @property
    def dot(self) -> str:
        """The graph as Graphviz DOT (derived, so it can never disagree with ``graph``)."""
        return to_dot(self.graph)


@dataclass(frozen=True)
class RuleStepView:
    """One optimizer rule that fired, as the plan before and after it (``explain(rules=True)``)."""

    rule: str
    note: str
    before: PlanView
    after: PlanView

    def text(self) -> str:
        return (f"{self.rule}: {self.note}\n  before:\n{_indent(self.before.text)}\n"
                f"  after:\n{_indent(self.after.text)}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


@dataclass(frozen=True)
class ExplainResult:
    dataset_name: str
    logical: PlanView
    optimized: PlanView
    physical: PlanView
    rules_fired: tuple[str, ...]
    pushdowns: tuple[str, ...]
    schema: Any
    num_rows: Optional[int]
    executed: bool
    rule_steps: tuple[RuleStepView, ...] = ()
    """Each rule that fired, in order, with the whole plan before and after it."""

    def rules_text(self) -> str:
        """The optimizer's rewrites one at a time: what ``explain(rules=True)`` adds."""
        if not self.rule_steps:
            return "-------- Optimizer rules --------\nno rule fired: the plan runs as written"
        steps = [f"[{i}] {step.text()}" for i, step in enumerate(self.rule_steps, 1)]
        return "\n".join(["-------- Optimizer rules --------", *steps])

    def text(self) -> str:
        parts = [
            "-------- Logical Plan --------", self.logical.text,
            "-------- Logical Plan (Optimized) --------", self.optimized.text,
        ]
        if self.rules_fired:
            parts.append("Rules fired: " + "; ".join(self.rules_fired))
        parts += ["-------- Physical Plan --------", self.physical.text]
        return "\n".join(parts)


def explain_plan(plan: LogicalPlan, name: str = "dataset", executed: bool = False) -> ExplainResult:
    result = optimize(plan)
    physical = plan_physical(result.plan)
    fired = tuple(f"{rule}: {note}" for rule, note in result.fired)
    pushdowns = tuple(note for rule, note in result.fired if rule in ("ProjectionPushdown", "PredicatePushdown", "ColumnPruning") or "pushed into" in note)
    try:
        schema = plan.dag.output_schema()
    except Exception:
        schema = None
    try:
        rows = plan.dag.output_num_rows()
    except Exception:
        rows = None
    return ExplainResult(
        dataset_name=name,
        logical=PlanView(plan.text(), plan.graph(f"{name} (logical)")),
        optimized=PlanView(result.plan.text(), result.plan.graph(f"{name} (optimized)")),
        physical=PlanView(physical.text(), physical.graph(f"{name} (physical)")),
        rules_fired=fired,
        pushdowns=pushdowns,
        schema=schema,
        num_rows=rows,
        executed=executed,
        rule_steps=tuple(
            RuleStepView(step.rule, step.note, PlanView(step.before.text(), step.before.graph(f"before {step.rule}")),
                         PlanView(step.after.text(), step.after.graph(f"after {step.rule}")))
            for step in result.steps),
    )
