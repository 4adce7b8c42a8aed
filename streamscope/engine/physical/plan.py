"""PhysicalPlan: the operators the executor runs, with stable ids and text/DOT renderings.

Node ids in the DOT text equal each operator's ``op_id``, which is also the id telemetry
snapshots use, so a view can colour the graph by state without parsing anything else.
"""

from __future__ import annotations

from streamscope.engine.logical.plan import dot_escape, tree_text
from streamscope.engine.physical.operators.base import PhysicalOperator


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

    def dot(self, title: str = "physical") -> str:
        lines = [
            f'digraph "{dot_escape(title)}" {{',
            "  rankdir=TB;",
            '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica"];',
        ]
        for op in self.ops:
            label = f"{dot_escape(op.kind)}\\n" + "\\n".join(dot_escape(n) for n in op.logical_names)
            node = f'{op.op_id} [label="{label}"];'
            if len(op.logical_names) > 1:
                lines.append(f"  subgraph cluster_{op.op_id} {{")
                lines.append(f'    label="fused: {len(op.logical_names)} operators"; style="dashed"; color="#888888";')
                lines.append(f"    {node}")
                lines.append("  }")
            else:
                lines.append(f"  {node}")
        for op in self.ops:
            for inp in op.inputs:
                lines.append(f"  {inp.op_id} -> {op.op_id};")
        lines.append("}")
        return "\n".join(lines) + "\n"


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
