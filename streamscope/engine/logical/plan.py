"""LogicalPlan: the DAG a Dataset builds, with Ray-Data-style text and DOT renderings.

Why DOT here: the engine produces the graph as text (golden-tested); widgets only render it.
"""

from __future__ import annotations

from typing import Callable, Iterator

from streamscope.engine.logical.operators import LogicalOperator


class LogicalPlan:
    def __init__(self, dag: LogicalOperator):
        self.dag = dag

    def operators(self) -> list[LogicalOperator]:
        """Operators in topological order (sources first)."""
        return list(post_order(self.dag))

    def text(self) -> str:
        return tree_text(self.dag, lambda op: op.label(), lambda op: op.inputs)

    def dot(self, title: str = "logical") -> str:
        ops = self.operators()
        ids = {id(op): f"l{i}" for i, op in enumerate(ops)}
        lines = [f'digraph "{_esc(title)}" {{', "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica"];']
        for op in ops:
            lines.append(f'  {ids[id(op)]} [label="{_esc(op.kind)}\\n{_esc(op.detail())}"];')
        for op in ops:
            for inp in op.inputs:
                lines.append(f"  {ids[id(inp)]} -> {ids[id(op)]};")
        lines.append("}")
        return "\n".join(lines) + "\n"


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


def _esc(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\<").replace(">", "\\>")


dot_escape = _esc
