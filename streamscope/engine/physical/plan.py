"""PhysicalPlan: the operators the executor runs, with stable ids, text and a PlanGraph.

Node ids in the graph (and so in its DOT) equal each operator's ``op_id``, which is also the id
telemetry snapshots use, so a view can colour the graph by state by id alone. A fused operator
(several logical operators in one task) gets a cluster of its own, labelled with how many it runs.
"""

from __future__ import annotations

from streamscope.engine.logical.plan import tree_text
from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanCluster, PlanEdge, PlanGraph, PlanNode


class PhysicalPlan:
    def __init__(self, sink: PhysicalOperator):
        self.sink = sink
        self.ops = _topo(sink)
        for i, op in enumerate(self.ops):
            op.op_id = f"op{i}"

    def consumers(self, op: PhysicalOperator) -> list[tuple[PhysicalOperator, int]]:
        out = []
        for other in self.ops:
            for idx, inp in enumerate(other.inputs):
                if inp is op:
                    out.append((other, idx))
        return out

    def text(self) -> str:
        return tree_text(self.sink, lambda op: f"{op.kind}[{op.name}]", lambda op: op.inputs)

    def graph(self, title: str = "physical") -> PlanGraph:
        """One node per operator (id = ``op_id``), a cluster per fused operator, an edge per input."""
        nodes = tuple(PlanNode(op.op_id, op.kind, covers=op.logical_names, lines=op.logical_names) for op in self.ops)
        clusters = tuple(
            PlanCluster(op.op_id, f"fused: {len(op.logical_names)} operators", (op.op_id,))
            for op in self.ops if len(op.logical_names) > 1
        )
        edges = tuple(PlanEdge(inp.op_id, op.op_id) for op in self.ops for inp in op.inputs)
        return PlanGraph(title, nodes, edges, clusters)

    def dot(self, title: str = "physical") -> str:
        return to_dot(self.graph(title))


def _topo(sink: PhysicalOperator) -> list[PhysicalOperator]:
    order: list[PhysicalOperator] = []
    seen: set[int] = set()

    def visit(op: PhysicalOperator) -> None:
        if id(op) in seen:
            return
        seen.add(id(op))
        for inp in op.inputs:
            visit(inp)
        order.append(op)

    visit(sink)
    return order
