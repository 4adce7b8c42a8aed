"""LogicalPlan: the DAG a Dataset builds, with its Ray-Data-style text and its PlanGraph.

Why the graph is built here: the engine owns what the plan is; views draw the :class:`PlanGraph`
(and the DOT that ``plan_dot`` writes from it, golden-tested) without parsing anything back.
"""

from __future__ import annotations

from typing import Callable, Iterator

from streamscope.engine.logical.operators import LogicalOperator
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanEdge, PlanGraph, PlanNode


class LogicalPlan:
    def __init__(self, dag: LogicalOperator):
        self.dag = dag

    def operators(self) -> list[LogicalOperator]:
        """Operators in topological order (sources first)."""
        return list(post_order(self.dag))

    def text(self) -> str:
        return tree_text(self.dag, lambda op: op.label(), lambda op: op.inputs)

    def graph(self, title: str = "logical") -> PlanGraph:
        """One node per operator (ids ``l0``, ``l1``... in dataflow order), one edge per input."""
        ops = self.operators()
        ids = {id(op): f"l{i}" for i, op in enumerate(ops)}
        nodes = tuple(PlanNode(ids[id(op)], op.kind, covers=(op.name,), lines=(op.detail(),)) for op in ops)
        edges = tuple(PlanEdge(ids[id(inp)], ids[id(op)]) for op in ops for inp in op.inputs)
        return PlanGraph(title, nodes, edges)

    def dot(self, title: str = "logical") -> str:
        return to_dot(self.graph(title))


def post_order(op: LogicalOperator, seen: set | None = None) -> Iterator[LogicalOperator]:
    seen = set() if seen is None else seen
    for inp in op.inputs:
        yield from post_order(inp, seen)
    if id(op) not in seen:
        seen.add(id(op))
        yield op


def tree_text(root, label: Callable, children: Callable) -> str:
    """Ray Data's explain layout: the sink first, inputs indented below with ``+- ``."""
    lines: list[str] = []

    def walk(node, depth: int) -> None:
        prefix = "" if depth == 0 else "   " * (depth - 1) + "+- "
        lines.append(prefix + label(node))
        for child in children(node):
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)
